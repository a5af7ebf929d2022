"""RulePolicy unit tests on hand-built rules (Rasa's RulePolicy semantics)."""

from __future__ import annotations

from typing import Any

from bot.engine.policy import ACTION_LISTEN, RulePolicy, TrailItem, trail_from_history
from bot.settings import PROJECT_DIR
from bot.training_data import Rule, load_rules


def rule(name: str, steps: list[dict[str, Any]], **options: Any) -> Rule:
    """A rule written the way rules.yml writes it."""
    return Rule.model_validate({"rule": name, "steps": steps, **options})


def predict(
    policy: RulePolicy,
    trail: list[TrailItem],
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    *,
    start: bool = False,
) -> str | None:
    prediction = policy.predict(trail, slots or {}, active_loop, conversation_start=start)
    return prediction.action if prediction else None


GREET = rule("greet", [{"intent": "greet"}, {"action": "utter_greet"}])


def test_intent_then_action_then_listen():
    policy = RulePolicy([GREET])
    assert predict(policy, [("intent", "greet")]) == "utter_greet"
    assert predict(policy, [("intent", "greet"), ("action", "utter_greet")]) == ACTION_LISTEN
    assert predict(policy, [("intent", "goodbye")]) is None


def test_prediction_names_the_rule():
    prediction = RulePolicy([GREET]).predict(
        [("intent", "greet")], {}, None, conversation_start=False
    )
    assert prediction is not None
    assert prediction.rule == "greet"
    assert prediction.explicit_loop is False


def test_rule_matches_only_the_latest_user_turn():
    policy = RulePolicy([GREET])
    trail: list[TrailItem] = [
        ("intent", "greet"),
        ("action", "utter_greet"),
        ("intent", "goodbye"),
    ]
    assert predict(policy, trail) is None


def test_wait_for_user_input_false_leaves_the_next_action_to_other_rules():
    chained = rule(
        "greet, then carry on",
        [{"intent": "greet"}, {"action": "utter_greet"}],
        wait_for_user_input=False,
    )
    menu = rule("menu after greeting", [{"action": "utter_greet"}, {"action": "utter_menu"}])
    after_greeting: list[TrailItem] = [("intent", "greet"), ("action", "utter_greet")]

    # Alone, the finished rule predicts nothing at all (not action_listen).
    assert predict(RulePolicy([chained]), after_greeting) is None
    # So a rule that continues from its last action decides.
    assert predict(RulePolicy([chained, menu]), after_greeting) == "utter_menu"
    # With the default (wait for the user), the longer match says listen.
    assert predict(RulePolicy([GREET, menu]), after_greeting) == ACTION_LISTEN


def test_longest_match_wins_whatever_the_order():
    short = rule("stop", [{"intent": "stop"}, {"action": "utter_stopped"}])
    long = rule(
        "stop after details",
        [
            {"intent": "option_details"},
            {"action": "action_option_details"},
            {"intent": "stop"},
            {"action": "utter_other_groups"},
        ],
    )
    trail: list[TrailItem] = [
        ("intent", "option_details"),
        ("action", "action_option_details"),
        ("intent", "stop"),
    ]
    assert predict(RulePolicy([short, long]), trail) == "utter_other_groups"
    assert predict(RulePolicy([long, short]), trail) == "utter_other_groups"
    # Without the earlier turn only the short rule matches.
    assert predict(RulePolicy([short, long]), [("intent", "stop")]) == "utter_stopped"


STOP_IN_FORM = rule(
    "stop in form",
    [
        {"intent": "stop"},
        {"action": "utter_form_stopped"},
        {"action": "action_deactivate_loop"},
        {"active_loop": None},
    ],
    condition=[{"active_loop": "plan_form"}],
)
STOP_NO_FORM = rule("stop, no form", [{"intent": "stop"}, {"action": "utter_nothing_to_stop"}])
FORM_STARTED: list[TrailItem] = [
    ("intent", "plan_meeting"),
    ("action", "plan_form"),
    ("active_loop", "plan_form"),
]


def test_active_loop_condition_selects_the_rule():
    policy = RulePolicy([STOP_NO_FORM, STOP_IN_FORM])
    in_form = [*FORM_STARTED, ("intent", "stop")]
    assert predict(policy, in_form, active_loop="plan_form") == "utter_form_stopped"
    assert predict(policy, [("intent", "stop")], active_loop=None) == "utter_nothing_to_stop"
    prediction = policy.predict(in_form, {}, "plan_form", conversation_start=False)
    assert prediction is not None
    assert prediction.explicit_loop is True


def test_loop_condition_is_checked_at_the_start_of_the_matched_steps():
    policy = RulePolicy([STOP_NO_FORM, STOP_IN_FORM])
    trail = [*FORM_STARTED, ("intent", "stop"), ("action", "utter_form_stopped")]
    assert predict(policy, trail, active_loop="plan_form") == "action_deactivate_loop"
    # After deactivation the form is no longer active, but it was when the rule began.
    trail += [("action", "action_deactivate_loop"), ("active_loop", None)]
    assert predict(policy, trail, active_loop=None) == ACTION_LISTEN


FINISHED = rule(
    "form finished",
    [{"action": "plan_form"}, {"active_loop": None}, {"action": "utter_done"}],
    condition=[{"active_loop": "plan_form"}],
)


def test_form_finished_rule_matches_after_deactivation():
    policy = RulePolicy([FINISHED])
    trail = [
        *FORM_STARTED,
        ("intent", "inform"),
        ("action", "plan_form"),
        ("active_loop", None),
    ]
    assert predict(policy, trail, active_loop=None) == "utter_done"
    assert predict(policy, [*trail, ("action", "utter_done")]) == ACTION_LISTEN


def test_form_finished_rule_works_when_the_activation_is_out_of_history():
    # Stored history is capped, so the activation may be gone: the later
    # deactivation right after the form's own action shows it was active.
    trail: list[TrailItem] = [("intent", "inform"), ("action", "plan_form"), ("active_loop", None)]
    assert predict(RulePolicy([FINISHED]), trail, active_loop=None) == "utter_done"


def test_form_finished_rule_does_not_fire_while_the_form_runs_or_on_other_exits():
    policy = RulePolicy([FINISHED])
    running = [*FORM_STARTED, ("intent", "inform"), ("action", "plan_form")]
    assert predict(policy, running, active_loop="plan_form") is None
    stopped = [
        *FORM_STARTED,
        ("intent", "stop"),
        ("action", "action_deactivate_loop"),
        ("active_loop", None),
    ]
    assert predict(policy, stopped, active_loop=None) is None
    other_form = [
        ("intent", "x"),
        ("action", "other_form"),
        ("active_loop", "other_form"),
        ("intent", "inform"),
        ("action", "plan_form"),
        ("active_loop", None),
    ]
    assert predict(policy, other_form, active_loop=None) is None


def test_slot_was_set_step_inside_a_rule():
    finish = rule(
        "finish planning",
        [
            {"action": "plan_form"},
            {"active_loop": None},
            {"slot_was_set": [{"requested_slot": None}]},
            {"action": "action_show_plan"},
        ],
        condition=[{"active_loop": "plan_form"}],
    )
    policy = RulePolicy([finish])
    trail = [*FORM_STARTED, ("intent", "inform"), ("action", "plan_form"), ("active_loop", None)]
    assert predict(policy, trail, {"requested_slot": None}) == "action_show_plan"
    assert predict(policy, trail, {"requested_slot": "plan_when"}) is None


def test_slot_conditions():
    with_value = rule(
        "greet someone who picked AA",
        [{"intent": "greet"}, {"action": "utter_greet_aa"}],
        condition=[{"slot_was_set": [{"plan_option": "aa"}]}],
    )
    any_value = rule(
        "greet someone with a plan",
        [{"intent": "greet"}, {"action": "utter_greet_planner"}],
        condition=[{"slot_was_set": ["plan_when"]}],
    )
    policy = RulePolicy([GREET, with_value, any_value])
    trail: list[TrailItem] = [("intent", "greet")]
    assert predict(policy, trail, {"plan_option": "aa"}) == "utter_greet_aa"
    assert predict(policy, trail, {"plan_option": "na"}) == "utter_greet"
    assert predict(policy, trail, {"plan_when": "this_week"}) == "utter_greet_planner"
    assert predict(policy, trail, {"plan_when": None}) == "utter_greet"
    assert predict(policy, trail, {}) == "utter_greet"


def test_conversation_start_rule_only_at_the_start():
    welcome = rule(
        "welcome", [{"intent": "greet"}, {"action": "utter_welcome"}], conversation_start=True
    )
    # Listed after the ordinary rule, the start rule still wins at the start.
    policy = RulePolicy([GREET, welcome])
    assert predict(policy, [("intent", "greet")], start=True) == "utter_welcome"
    assert predict(policy, [("intent", "greet")], start=False) == "utter_greet"
    later: list[TrailItem] = [
        ("intent", "thanks"),
        ("action", "utter_thanks"),
        ("intent", "greet"),
    ]
    assert predict(policy, later, start=True) == "utter_greet"
    assert predict(RulePolicy([welcome]), later, start=False) is None


def test_conflicts_finds_contradicting_rules():
    other = rule("greet differently", [{"intent": "greet"}, {"action": "utter_hello"}])
    problems = RulePolicy([GREET, other]).conflicts()
    assert len(problems) == 1
    assert "greet" in problems[0]
    assert "greet differently" in problems[0]
    assert "utter_greet" in problems[0]
    assert "utter_hello" in problems[0]


def test_conflicts_between_listen_and_an_action():
    chained = rule(
        "greet then menu",
        [{"intent": "greet"}, {"action": "utter_greet"}, {"action": "utter_menu"}],
    )
    problems = RulePolicy([GREET, chained]).conflicts()
    assert len(problems) == 1
    assert ACTION_LISTEN in problems[0]


def test_no_conflict_when_conditions_or_start_differ():
    in_form = rule(
        "greet in form",
        [{"intent": "greet"}, {"action": "utter_hello"}],
        condition=[{"active_loop": "plan_form"}],
    )
    welcome = rule(
        "welcome", [{"intent": "greet"}, {"action": "utter_welcome"}], conversation_start=True
    )
    assert RulePolicy([GREET, in_form, welcome]).conflicts() == []


def test_the_projects_rules_do_not_contradict_each_other():
    rules = load_rules(PROJECT_DIR / "dialogues" / "rules.yml").rules
    assert rules
    assert RulePolicy(rules).conflicts() == []


def test_trail_from_history_drops_action_listen():
    history = [
        {"intent": "plan_meeting"},
        {"action": "plan_form"},
        {"active_loop": "plan_form"},
        {"action": "action_listen"},
        {"intent": "stop"},
    ]
    assert trail_from_history(history) == [
        ("intent", "plan_meeting"),
        ("action", "plan_form"),
        ("active_loop", "plan_form"),
        ("intent", "stop"),
    ]
