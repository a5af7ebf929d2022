"""bot/validation.py and `mutual-aid-bot validate`: each semantic check fires on broken content."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine.actions import InProcessActions
from bot.settings import PROJECT_DIR, Settings
from bot.validation import validate_all

CLI = Path(sys.executable).parent / "mutual-aid-bot"


@pytest.fixture(scope="module")
def action_names() -> set[str]:
    return InProcessActions().names()


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of config.yml, dialogues/ and knowledge/ that a test may break."""
    folder = tmp_path / "content"
    folder.mkdir()
    shutil.copy(PROJECT_DIR / "config.yml", folder / "config.yml")
    shutil.copytree(PROJECT_DIR / "dialogues", folder / "dialogues")
    shutil.copytree(PROJECT_DIR / "knowledge", folder / "knowledge")
    return folder


@pytest.fixture
def copy_settings(content: Path, tmp_path: Path, models_dir: Path) -> Settings:
    return Settings(content_dir=content, data_dir=tmp_path / "data", models_dir=models_dir)


def edit(path: Path, old: str, new: str) -> str:
    """Replace text in a content file (exactly once) and return the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should appear once in {path}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def append(path: Path, extra: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(extra)


def add_intent(content: Path, name: str) -> None:
    edit(content / "dialogues" / "domain.yml", "  - crisis\n", f"  - crisis\n  - {name}\n")


def add_rule(content: Path, rule: str) -> None:
    append(content / "dialogues" / "rules.yml", "\n" + rule)


def problems_of(settings: Settings, action_names: set[str]) -> list[str]:
    return validate_all(settings, action_names)


def only(problems: list[str], *needles: str) -> str:
    """The one problem that contains every needle."""
    found = [p for p in problems if all(n in p for n in needles)]
    assert len(found) == 1, problems
    return found[0]


# --- the real content ----------------------------------------------------------------------


def test_real_content_has_no_problems(settings, action_names):
    assert validate_all(settings, action_names) == []


def test_untouched_copy_has_no_problems(copy_settings, action_names):
    assert problems_of(copy_settings, action_names) == []


# --- each check fires ----------------------------------------------------------------------


def test_intent_used_in_rules_but_not_declared(content, copy_settings, action_names):
    add_rule(
        content,
        "  - rule: flirting\n    steps:\n      - intent: flirt\n      - action: utter_greet\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == ["rules.yml: intent 'flirt' is not declared"]


def test_undeclared_action_in_a_rule(content, copy_settings, action_names):
    add_rule(
        content,
        "  - rule: dance\n    steps:\n      - intent: affirm\n      - action: action_dance\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert "rules.yml: action 'action_dance' is not declared" in problems


def test_undeclared_response_in_a_rule(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "rules.yml",
        "      - action: utter_greet\n",
        "      - action: utter_greeet\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert "rules.yml: action 'utter_greeet' is not declared" in problems


def test_intent_with_no_examples(content, copy_settings, action_names):
    add_intent(content, "ask_price")
    problems = problems_of(copy_settings, action_names)
    assert problems == ["intent 'ask_price' has no NLU examples"]


def test_intent_with_too_few_examples(content, copy_settings, action_names):
    add_intent(content, "ask_price")
    append(
        content / "dialogues" / "nlu.yml",
        "\n  - intent: ask_price\n    examples: |\n      - how much\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == ["intent 'ask_price' has 1 examples; at least 15"]


def test_nlu_intent_not_in_domain(content, copy_settings, action_names):
    examples = "".join(f"      - price question {i}\n" for i in range(15))
    append(
        content / "dialogues" / "nlu.yml", f"\n  - intent: ask_price\n    examples: |\n{examples}"
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == ["nlu.yml: intent 'ask_price' is not declared in the domain"]


def test_undeclared_entity_in_an_example(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "nlu.yml",
        "- more about [NA](option:na)",
        "- more about [NA](group:na)",
    )
    problems = problems_of(copy_settings, action_names)
    only(problems, "entity 'group'", "option_details", "not declared")


def test_conflicting_rules(content, copy_settings, action_names):
    add_rule(
        content,
        "  - rule: greet differently\n    steps:\n"
        "      - intent: greet\n      - action: utter_help\n",
    )
    problems = problems_of(copy_settings, action_names)
    problem = only(problems, "start the same way")
    assert problem.startswith("rules.yml: rules 'Say hello' and 'greet differently'")
    assert "'utter_greet' and 'utter_help'" in problem


def test_button_payload_with_unknown_intent(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "domain.yml",
        "        - title: No, that's all\n          payload: /goodbye\n",
        "        - title: No, that's all\n          payload: /good_bye\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == [
        "response 'utter_thanks': button payload intent 'good_bye' is not declared"
    ]


def test_button_payload_that_is_not_an_intent(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "domain.yml",
        "        - title: No, that's all\n          payload: /goodbye\n",
        "        - title: No, that's all\n          payload: goodbye\n",
    )
    problems = problems_of(copy_settings, action_names)
    only(problems, "utter_thanks", "'goodbye' is not /intent")


def test_form_slot_with_no_question(content, copy_settings, action_names):
    domain = content / "dialogues" / "domain.yml"
    edit(
        domain,
        "\nresponses:\n",
        "  plan_note:\n    type: text\n    influence_conversation: false\n    mappings:\n"
        "      - type: from_entity\n        entity: option\n\nresponses:\n",
    )
    edit(domain, "      - plan_when\n", "      - plan_when\n      - plan_note\n")
    problems = problems_of(copy_settings, action_names)
    assert problems == ["form 'plan_form': no question for slot 'plan_note'"]


def add_slot(content: Path, slot_yaml: str) -> None:
    edit(content / "dialogues" / "domain.yml", "\nresponses:\n", f"{slot_yaml}\nresponses:\n")


def test_consent_slot_set_by_an_intent_is_rejected(content, copy_settings, action_names):
    """Typed text ("yes") is classified as an intent, so it must never be able to give consent."""
    add_slot(
        content,
        "  share_consent:\n    type: bool\n    influence_conversation: false\n    mappings:\n"
        "      - type: from_intent\n        intent: affirm\n        value: true\n",
    )
    problems = problems_of(copy_settings, action_names)
    problem = only(problems, "share_consent")
    assert "only a button may fill it" in problem


def test_consent_slot_from_a_typed_entity_is_rejected(content, copy_settings, action_names):
    # 'option' is annotated in NLU examples and has a lookup table, so typing can set it
    add_slot(
        content,
        "  share_consent:\n    type: text\n    influence_conversation: false\n    mappings:\n"
        "      - type: from_entity\n        entity: option\n",
    )
    problems = problems_of(copy_settings, action_names)
    only(problems, "share_consent", "only a button may fill it")


def test_consent_slot_from_text_is_rejected(content, copy_settings, action_names):
    add_slot(
        content,
        "  data_consent:\n    type: text\n    influence_conversation: false\n    mappings:\n"
        "      - type: from_text\n",
    )
    problems = problems_of(copy_settings, action_names)
    only(problems, "data_consent", "only a button may fill it")


def test_consent_slot_from_a_button_only_entity_is_accepted(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "domain.yml", "  - crisis_type\n", "  - crisis_type\n  - consent\n"
    )
    add_slot(
        content,
        "  share_consent:\n    type: bool\n    influence_conversation: false\n    mappings:\n"
        "      - type: from_entity\n        entity: consent\n",
    )
    assert problems_of(copy_settings, action_names) == []


def test_declared_action_missing_from_the_actions_package(content, copy_settings, action_names):
    edit(
        content / "dialogues" / "domain.yml",
        "  - action_show_plan\n",
        "  - action_show_plan\n  - action_send_referral\n",
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == ["action 'action_send_referral' is declared but not in the actions package"]


def test_packaged_action_missing_from_the_domain(content, copy_settings, action_names):
    edit(content / "dialogues" / "domain.yml", "  - action_show_plan\n", "")
    problems = problems_of(copy_settings, action_names)
    assert "action 'action_show_plan' is in the actions package but not declared" in problems
    assert "rules.yml: action 'action_show_plan' is not declared" in problems


def test_crisis_response_missing_from_domain(content, copy_settings, action_names):
    edit(
        content / "knowledge" / "crisis.yml",
        "response: utter_crisis_violence",
        "response: utter_crisis_violenc",
    )
    problems = problems_of(copy_settings, action_names)
    assert problems == ["crisis.yml: response 'utter_crisis_violenc' is not in the domain"]


def test_bad_yaml_in_dialogues_names_file_and_line(content, copy_settings, action_names):
    rules = content / "dialogues" / "rules.yml"
    text = edit(rules, "  - rule: Say hello\n", "  - rule: Say hello\n\t steps: []\n")
    line = text.splitlines().index("\t steps: []") + 1
    problems = problems_of(copy_settings, action_names)
    assert len(problems) == 1
    assert problems[0].startswith(f"{rules}:{line}: not valid YAML")


def test_bad_field_in_domain_names_file_and_line(content, copy_settings, action_names):
    domain = content / "dialogues" / "domain.yml"
    text = edit(
        domain, "  plan_when:\n    type: categorical\n", "  plan_when:\n    type: choice\n"
    )
    line = text.splitlines().index("    type: choice") + 1
    problems = problems_of(copy_settings, action_names)
    assert len(problems) == 1
    assert problems[0].startswith(f"{domain}:{line}: slots.plan_when.type: ")


def test_bad_yaml_in_knowledge_names_file_and_line(content, copy_settings, action_names):
    support = content / "knowledge" / "support_lines.yml"
    text = edit(support, "  - id: samaritans\n", "  - id: samaritans\n  id: samaritans\n")
    line = text.splitlines().index("  id: samaritans") + 1
    problems = problems_of(copy_settings, action_names)
    assert len(problems) == 1
    assert problems[0].startswith(f"{support}:{line}: not valid YAML")


def test_bad_sites_file_is_reported(content, tmp_path, models_dir, action_names):
    sites = tmp_path / "sites.yml"
    sites.write_text(
        "sites:\n  - id: a\n    kind: gp_practice\n    name: A Surgery\n"
        "    referral_form_url: http://forms.example.org/a\n",
        encoding="utf-8",
    )
    settings = Settings(
        content_dir=content, data_dir=tmp_path / "data", models_dir=models_dir, sites=sites
    )
    problems = problems_of(settings, action_names)
    assert len(problems) == 1
    assert problems[0].startswith(f"{sites}:5: sites.0.referral_form_url: ")


def test_unknown_pipeline_component_is_reported_with_the_file(
    content, copy_settings, action_names
):
    edit(content / "config.yml", "  - name: WhitespaceTokenizer\n", "  - name: SpacyTokenizer\n")
    problems = problems_of(copy_settings, action_names)
    assert len(problems) == 1
    assert problems[0].startswith(f"{content / 'config.yml'}: ")
    assert "SpacyTokenizer" in problems[0]


# --- the command line ----------------------------------------------------------------------


def run_cli(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        key: value for key, value in os.environ.items() if not key.startswith("MUTUAL_AID_")
    }
    full_env["MUTUAL_AID_DATA_DIR"] = str(tmp_path / "data")
    full_env.update(env)
    return subprocess.run(
        [str(CLI), "validate"],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_cli_validate_passes_on_good_content(tmp_path):
    result = run_cli(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "All content is valid." in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_validate_fails_clearly_on_broken_content(tmp_path, content):
    add_rule(
        content,
        "  - rule: flirting\n    steps:\n      - intent: flirt\n      - action: utter_greet\n",
    )
    result = run_cli(tmp_path, MUTUAL_AID_CONTENT_DIR=str(content))
    assert result.returncode != 0
    assert "problem: rules.yml: intent 'flirt' is not declared" in result.stderr
    assert "1 problem(s) found." in result.stderr
    assert "Traceback" not in result.stderr
    assert "All content is valid." not in result.stdout


@pytest.mark.slow
def test_cli_validate_reports_bad_yaml_with_file_and_line(tmp_path, content):
    domain = content / "dialogues" / "domain.yml"
    text = edit(domain, "  - greet\n", "  - greet\n\t- hello\n")
    line = text.splitlines().index("\t- hello") + 1
    result = run_cli(tmp_path, MUTUAL_AID_CONTENT_DIR=str(content))
    assert result.returncode != 0
    assert f"{domain}:{line}: not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


# --- dialogues/intent_titles.yml: the "did you mean" buttons -------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("  cost: Does it cost anything?\n", "  costs: Does it cost anything?\n", "'costs'"),
        ("  get_help: Get help now\n", "  get_help: Get help now\n  affirm: Say yes\n", "answer"),
        ("  something_else: Something else\n", "", "something_else"),
    ],
)
def test_intent_titles_must_fit_the_domain(content, copy_settings, action_names, old, new, needle):
    edit(content / "dialogues" / "intent_titles.yml", old, new)
    assert needle in only(problems_of(copy_settings, action_names), "intent_titles.yml")


def test_missing_intent_titles_file_is_named(content, copy_settings, action_names):
    (content / "dialogues" / "intent_titles.yml").unlink()
    assert "missing" in only(problems_of(copy_settings, action_names), "intent_titles.yml")


def test_broken_intent_titles_file_is_a_clear_problem(content, copy_settings, action_names):
    (content / "dialogues" / "intent_titles.yml").write_text("titles: [oops\n")
    assert "intent_titles.yml" in "\n".join(problems_of(copy_settings, action_names))


def test_an_encyclopaedia_is_not_a_groups_website(content, copy_settings, action_names):
    edit(
        content / "knowledge" / "options" / "lifering.yml",
        'value: "https://lifering.uk"',
        'value: "https://en.wikipedia.org/wiki/LifeRing_Secular_Recovery"',
    )
    problems = validate_all(copy_settings, action_names)
    assert any("lifering.yml: website is on wikipedia.org" in p for p in problems), problems


def test_a_source_that_says_it_is_not_the_groups_own_is_refused(
    content, copy_settings, action_names
):
    edit(
        content / "knowledge" / "options" / "lifering.yml",
        "[S] LifeRing UK's own site (stored copy 2026-12)",
        "[S] a listing, NOT the group's own site",
    )
    problems = validate_all(copy_settings, action_names)
    assert any("not the group's own" in p for p in problems), problems
