"""Preference elicitation: a model that may ask the person before answering, and the person who replies."""

from typing import Literal

import dspy


class AskOrAnswer(dspy.Signature):
    """You are about to answer someone's question, but you know nothing about them. You may first ask them one
    short clarifying question that would most change how you should answer, or decide you know enough. Ask about
    their situation or priorities, one thing at a time, and never repeat an earlier question."""

    question: str = dspy.InputField(desc="the question they asked you")
    conversation: str = dspy.InputField(desc="your earlier clarifying questions and their replies, if any")
    questions_left: int = dspy.InputField(desc="how many more clarifying questions you may ask")
    action: Literal["ask", "answer"] = dspy.OutputField(desc="ask one more question, or answer now")
    clarifying_question: str = dspy.OutputField(desc="the question to ask them (empty when answering)")


class AnswerFromConversation(dspy.Signature):
    """Answer the person's question the way they would want it, using what they told you when you asked. Do not
    repeat their replies back to them. Keep it short."""

    question: str = dspy.InputField(desc="the question they asked you")
    conversation: str = dspy.InputField(desc="your clarifying questions and their replies")
    answer: str = dspy.OutputField(desc="a short answer that suits this person")


class ReplyAsPersona(dspy.Signature):
    """You are the person described, chatting with an assistant you asked for help. It asks you a clarifying
    question. Reply briefly, in the first person, as you would in a chat: answer what it asked and nothing more.
    Do not recite your profile or volunteer facts it did not ask about."""

    persona: str = dspy.InputField(desc="who you are, one attribute per line")
    request: str = dspy.InputField(desc="the question you asked the assistant")
    asked: str = dspy.InputField(desc="the assistant's clarifying question")
    reply: str = dspy.OutputField(desc="your short reply, first person")
