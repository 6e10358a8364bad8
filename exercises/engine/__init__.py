"""The live exercise engine: the ONLY code that changes a running exercise.

Every verb takes keyword-only arguments, raises ``EngineError`` (a sentence a user can
read) on a rule violation, locks the exercise row (``select_for_update``; on SQLite the
IMMEDIATE transaction mode serialises writers instead), checks who acts and whether the
status allows it (``exercises.states``), changes state, writes its Event(s) in the same
transaction (gap-free ``seq``) and publishes them after commit (``exercises.broadcast``).
Facilitator actions are also written to the audit log. Facilitator verbs require their
``actor``; work the exercise does on its own schedule acts as ``SYSTEM``.

Modules: ``core`` (locking, events, audit, checks), ``lifecycle``, ``injects`` (injects
and prompts), ``decisions``, ``collaboration`` (shares, observations), ``discussion``
(team threads), ``relays``, ``summaries`` (a coordinating body's community warnings),
``replies`` (replies to shares), ``rfis``, ``timing`` (due work and sweeps) and ``rules`` (pure).
Callers use the names below:
``from exercises import engine; engine.decision_submit(...)``.
"""

from __future__ import annotations

from exercises.clock import exercise_clock
from exercises.engine.collaboration import (
    observation_delete,
    observation_record,
    observation_revise,
    share_create,
)
from exercises.engine.core import SYSTEM, Actor, EngineError
from exercises.engine.decisions import decision_submit
from exercises.engine.discussion import message_post
from exercises.engine.injects import inject_release, prompt_close, prompt_open
from exercises.engine.lifecycle import (
    advance_target,
    exercise_advance,
    exercise_create,
    exercise_end,
    exercise_pause,
    exercise_resume,
    exercise_start,
    hotwash_save,
    participant_add,
    team_add,
    team_join,
)
from exercises.engine.preview import BranchPreview, branch_preview
from exercises.engine.relays import share_relay
from exercises.engine.replies import share_reply
from exercises.engine.rfis import rfi_answer, rfi_ask
from exercises.engine.summaries import share_summarize
from exercises.engine.timing import (
    DueItem,
    SkippedWork,
    due_next,
    recover_after_restart,
    skipped_by_leaving,
    sweep_exercise,
    sweep_running_exercises,
)

__all__ = [
    "SYSTEM",
    "Actor",
    "BranchPreview",
    "DueItem",
    "EngineError",
    "SkippedWork",
    "advance_target",
    "branch_preview",
    "decision_submit",
    "due_next",
    "exercise_advance",
    "exercise_clock",
    "exercise_create",
    "exercise_end",
    "exercise_pause",
    "exercise_resume",
    "exercise_start",
    "hotwash_save",
    "inject_release",
    "message_post",
    "observation_delete",
    "observation_record",
    "observation_revise",
    "participant_add",
    "prompt_close",
    "prompt_open",
    "recover_after_restart",
    "rfi_answer",
    "rfi_ask",
    "share_create",
    "share_relay",
    "share_reply",
    "share_summarize",
    "skipped_by_leaving",
    "sweep_exercise",
    "sweep_running_exercises",
    "team_add",
    "team_join",
]
