"""Referral to a site's own form: choose the site, choose what to share, consent, handoff."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import button
from actions.knowledge_access import knowledge, referral, sites
from bot.referral import LEFT_OUT, NOT_SURE, describe, form_url, shared_values

FORM = "referral_form"
FIELD_SLOTS = {
    "interests": "referral_interests",
    "contact_method": "contact_method",
    "best_time": "best_time",
}


def answers_of(tracker: Tracker) -> dict[str, object]:
    """The person's answers, by field name."""
    return {field: tracker.get_slot(slot) for field, slot in FIELD_SLOTS.items()}


class ActionReferralStart(Action):
    """Start a referral: to this chat's site, to a chosen site, or explain the ways in."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_referral_start"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Open the referral questions, or offer the ways in and the sites to choose from."""
        known = sites()
        site = known.get(str(tracker.get_slot("site_id")))
        if site is None:
            dispatcher.utter_message(response="utter_referral_no_site")
            if known:
                buttons = [button(s.name, "choose_site", site_id=s.id) for s in known.values()]
                dispatcher.utter_message(response="utter_referral_choose_site", buttons=buttons)
            return [SlotSet("site_id", None)]
        # Fresh answers each time; fields this site's form cannot take are never asked.
        events = [SlotSet("referral_consent", None)]
        for field, slot in FIELD_SLOTS.items():
            left_out = [LEFT_OUT] if field == "interests" else LEFT_OUT
            events.append(SlotSet(slot, None if field in site.prefill else left_out))
        return [*events, FollowupAction(FORM)]


class ActionAskReferralInterests(Action):
    """Ask which groups to mention, offering the ones the person looked at."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_ask_referral_interests"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the question with buttons."""
        options = knowledge().options_by_id
        seen = [o for o in (tracker.get_slot("viewed_options") or []) if o in options]
        planned = tracker.get_slot("plan_option")
        if planned in options and planned not in seen:
            seen.append(planned)
        buttons = []
        if seen:
            names = ", ".join(options[o].short_name for o in seen)
            buttons.append(button(names, "inform", referral_interests=list(seen)))
        buttons += [
            button("Not sure yet", "inform", referral_interests=[NOT_SURE]),
            button("Leave this out", "inform", referral_interests=[LEFT_OUT]),
            {"title": "Stop", "payload": "/stop"},
        ]
        dispatcher.utter_message(response="utter_ask_referral_interests", buttons=buttons)
        return []


class ValidateReferralForm(FormValidationAction):
    """Accept only answers the buttons offer."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "validate_referral_form"

    def validate_referral_interests(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Group ids, 'not sure' or 'leave out' only."""
        values = slot_value if isinstance(slot_value, list) else [slot_value]
        allowed = set(knowledge().options_by_id) | {NOT_SURE, LEFT_OUT}
        if values and all(v in allowed for v in values):
            return {"referral_interests": list(dict.fromkeys(values))}
        return {"referral_interests": None}


class ActionAskReferralConsent(Action):
    """Say exactly who gets what, and ask for a yes or no by button."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_ask_referral_consent"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the consent question with yes/no buttons."""
        site = sites().get(str(tracker.get_slot("site_id")))
        if site is None:
            dispatcher.utter_message(response="utter_referral_no_site")
            return [{"event": "active_loop", "timestamp": None, "name": None}]
        words = referral()
        shared = shared_values(answers_of(tracker), site, words, knowledge().options_by_id)
        response = (
            "utter_ask_referral_consent_probation"
            if site.kind == "probation"
            else "utter_ask_referral_consent"
        )
        dispatcher.utter_message(
            response=response,
            site_name=site.name,
            shared=describe(shared, words),
            buttons=[
                {"title": "Yes, open the form", "payload": '/inform{"referral_consent": "yes"}'},
                {"title": "No thanks", "payload": '/inform{"referral_consent": "no"}'},
            ],
        )
        return []


class ActionReferralHandoff(Action):
    """After a yes: the site's form, prefilled with what was agreed. After a no: nothing."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_referral_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Offer the form as a URL button and report the field names shared."""
        site = sites().get(str(tracker.get_slot("site_id")))
        if tracker.get_slot("referral_consent") != "yes" or site is None:
            dispatcher.utter_message(response="utter_referral_declined")
            return [SlotSet("referral_consent", None)]
        shared = shared_values(answers_of(tracker), site, referral(), knowledge().options_by_id)
        dispatcher.utter_message(
            response="utter_referral_form",
            site_name=site.name,
            buttons=[{"title": f"Open {site.name}'s form", "url": form_url(site, shared)}],
        )
        handoff = {"site_id": site.id, "fields": sorted(shared)}
        return [SlotSet("referral_consent", None), SlotSet("last_handoff", handoff)]
