"""The human role-play study: create it from questions and personas, serve it to annotators, export their labels."""

from persona.study.create import Study, create_study
from persona.study.design import StudyDesign
from persona.study.export import Export, export_study

__all__ = ["Export", "Study", "StudyDesign", "create_study", "export_study"]
