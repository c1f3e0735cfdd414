# ruff: noqa: E501 - spec texts and digests are kept whole, one per line, to be compared with run dirs by eye
"""Fingerprints of existing specs never change: a run dir made before a change replays after it with zero calls.

Each digest below was computed by the code that first wrote run dirs of that spec. A change that alters one makes every
existing run dir of that spec refuse its own spec ("holds results of a different spec").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from persona.runs import load_spec

REPO = Path(__file__).resolve().parents[1]

SPECS = {
    "quickstart-min": ('name = "x"\n', "fc75adc1e896648e1f18ff0c8c6f59d30f3532511f4dcaa6c51b3b2678961691"),
    "quickstart-custom": (
        'name = "y"\nseed = 3\n[personas]\nn = 2\nmin_age = 30\n[prompts]\nper_persona = 2\n[bench]\nsamples = 3\n[models.judge]\nmodel = "openai/gpt-4o"\napi_base = "http://h:1/v1"\n',
        "28cf7428927e15053398894031a5ff8a9ff247a9d8c5d53356a9a6fe3043234b",
    ),
    "personas": (
        'kind = "personas"\nn = 7\nseed = 2\ncategories_per_persona = 1\n',
        "3ba11d8a6757f7a78cfbb9807f7d11814b17ab83017e87d228ef9947e66d2ac3",
    ),
    "personas-nofill": (
        'kind = "personas"\nsource = "pums:data/pums"\ncheck = false\nfill = false\nmodel = { model = "openai/gpt-4", max_tokens = 100 }\n',
        "b7bb25041a3c80db7d3c896cb821d3e5f2372a02d5490c53531f8ed0f5dd4f37",
    ),
    "curation": (
        'kind = "curation"\nsource = "embedded"\ntrain = 3\nheldout = 1\n',
        "153a782beea7084761dc9985543bc456b03cb61a7d1839b6ec03d00a1e888af2",
    ),
    "curation-limit": (
        'kind = "curation"\nsource = "prompts.jsonl"\nlimit = 20\nclassify = false\n',
        "1ad5f0d6bc5dc8a33da2d9f1d908a3c07491df7e54efb0626fd774cf3d6db6de",
    ),
    "pairs": (
        'kind = "pairs"\nn_personas = 3\ntrain = 2\ntest_seen = 1\nheldout = 1\n',
        "6b349dc0a08819ebda6695c6a707514ebba29f7da34ae39d6d3074a55db9c08e",
    ),
    "pairs-noverify": (
        'kind = "pairs"\npersonas = "outputs/p"\nverify = false\nseed = 4\n[models]\ngenerator = { model = "openai/gpt-4o-mini", max_tokens = 64 }\n',
        "b5198d2b7db0163e27caf7cd218fc73f33fae5704a423035bffaa00ad62b47fd",
    ),
    "bench": ('kind = "bench"\n', "0ced67c69fa9408e98e819ef08bb1667df0b1dc9e4d9c4bdc6e7f8d3b9870056"),
    "bench-custom": (
        'kind = "bench"\nn_personas = 2\nquestions = 1\nmodes = ["no_cot", "summary"]\nslices = ["age >= 40"]\nsubtlety = false\npopulation = { fill = false }\n[models]\nresponder = { model = "openai/gpt-4o-mini", max_tokens = 64 }\njudge = { model = "openai/gpt-4o" }\n',
        "8811882e5f1bb4caa3484c479fa8a3f27693a414edbd7c9882608dfec81d4185",
    ),
    "passk": ('kind = "passk"\n', "1b5622b4954a6f303ab311e0ca7bcec07a18f73c070279e22d5b425a00f5c000"),
    "passk-custom": (
        'kind = "passk"\nmode = "no_cot"\nsamples = 4\nk_max = 4\ntemperature = 1.0\n[models]\nresponder = { model = "openai/gpt-4o-mini", max_tokens = 64 }\n',
        "29380cca951851fa97d6c7baf11a3b1f4f36a39415fbfe74693108beaad02c3b",
    ),
    "loo": ('kind = "loo"\n', "cefb58397618176f3df493a651106196a6d4450ad05776f39b5886cadcc2682d"),
    "loo-blind": (
        'kind = "loo"\nmethod = "blind"\nattributes = ["sex", "age"]\npairs = 2\nquestions = 3\n',
        "e21d9eda3eb4cc821e06fbc16b3e89ed8f7c15c0067bd064a7eb1d151b037287",
    ),
    "annotate": (
        'kind = "annotate"\nitems = "items.jsonl"\npersonas = "outputs/personas"\n',
        "6aea4a58af3d324470117985cfb97b2b0e5129da2a065c617b2ac7298b3b1b51",
    ),
    # Written `personas = "acs12"` before a bare draw was asked for by name; the same run dirs now say draw:acs12.
    "annotate-acs12": (
        'kind = "annotate"\nitems = "items.jsonl"\npersonas = "draw:acs12"\nn_personas = 2\nname = "m"\n',
        "2ff95b6721559443b402cb4e6eda7250c2003ad74209de0324c5172b35e89068",
    ),
    "optimize": ('kind = "optimize"\n', "079c9acd61ee5d3719bab93e1f0e1afc79addc89ed4d7dcb52c0e2f1f99f3291"),
    "optimize-gepa": (
        'kind = "optimize"\noptimizer = "gepa"\nmetric = "proxy"\nmode = "summary"\n[models]\nresponder = { model = "openai/gpt-4o-mini", max_tokens = 64 }\n',
        "de53540ae55a99bf7615869678c3a9ec884a494f463130fd90776e837732eecf",
    ),
}

PAPER = {
    "paper-agreement": "414ffef73422fd203e18bca5ac154f7ffdf38540f7d89b320b97f5bffc4ab96b",
    "paper-agreement-smoke": "1da48013bf6727229747ccd0db0c55af6f441dc05bd29966c6a20abce6816521",
    "paper-bench": "dfbe5d841874855e9d2c25fd3dc3e0cf2d7cfd5f5f89bd835c7d25fa77fcaeb6",
    "paper-bench-smoke": "bbeca0a42301bd0c2fdae96cb899124d9708b0d8072342eebf6b0e3b5455b6f4",
    "paper-curation": "c20e9b6ab3906c3be48e72f93bfab9a212a7cb28dd5a0a8705064ac471c17d9a",
    "paper-curation-smoke": "5b499aa7963faec2afcf19b813ae24031f094314ead6f954b714810cd2686026",
    "paper-loo": "f5569642a93e9a3a30011e466c9abcb69efb61eadadb2c3554304654c8668570",
    "paper-loo-smoke": "ab957fd3c78d6472ea18270657076312b59505de58efd61b3ed22152972873b4",
    "paper-pairs": "db40466abfd084c6c425c715b323c0b608577ec5f2aca6d269749cfdc41560b1",
    "paper-pairs-smoke": "67078deea83546034f84b3138d2cf13fb8542380ec1f78630c7cf8287c1b11a8",
    "paper-passk": "efd199f84352fb08d5c464678c87456cef33b3e25b94cbf4e507dc7aa2e6606d",
    "paper-passk-smoke": "9db9310697ddb30725b74fa2d93d3533785a0aeaf0bfefb1b67ce12f3e8626dc",
    "paper-elicit": "1fe3ca5cf1e1b0e5ec29f787c3709c0cce28e56b9dd98c7506aa83a2afa00c96",
    "paper-elicit-smoke": "2c40e86d1918250f2088d20e46ed93cd55f5a694416c5cb5d4d367e74a020498",
    "paper-history": "ec271441e553a1a7700e9ef0f7e76355f32a63a3fa7546b8f162cd0ccfb3d982",
    "paper-history-smoke": "b4c5fb1c047b9a291b45ab083ac5e47766ec25bbde05ec54cf9e0721d6fb5b68",
    "paper-personas": "b321ae5af0ea6d23b37839d2cb0d37bf0d9f9fd7cbb17a78ec851e3d75423d35",
    "paper-prefs": "c94f847fc9ec58c4c64f7cd7ce308a8ef4f47273a870f30d3f7b2843ce5ecc40",
    "paper-prefs-smoke": "070d2a37936964cbd4ae3681dc69657aa3726d0a795ed1359045a5ff06fa1dde",
    "paper-personas-smoke": "b11216f4a6456fc58b83a7ee6111e3f62957a42fad23c6586cae116c301eb1b4",
    "paper-summary": "bee387fefa59a07722cd456551f0fe54d866f1e298b26e7e26da540546615554",
    "paper-summary-smoke": "704ba8dd6922daaf55e7345c9cd52cb24fc7a899d1835bef24b940fa3bbc153c",
    "quickstart-bundled": "322656333b643c57ce85809ce3f9f7551fa083fe7584390f7acbc9488d8464a8",
}


@pytest.mark.parametrize("name", list(SPECS))
def test_fingerprints_of_written_specs_are_unchanged(name, tmp_path):
    text, expected = SPECS[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    assert load_spec(path).fingerprint() == expected


@pytest.mark.parametrize("name", list(PAPER))
def test_fingerprints_of_the_paper_and_quickstart_specs_are_unchanged(name):
    if name == "quickstart-bundled":
        spec = load_spec(REPO / "runs" / "quickstart.toml")
    else:
        stem = name.removeprefix("paper-").removesuffix("-smoke")
        spec = load_spec(REPO / "runs" / "paper" / f"{stem}.toml", smoke=name.endswith("-smoke"))
    assert spec.fingerprint() == PAPER[name]
