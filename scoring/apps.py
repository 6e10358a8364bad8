from django.apps import AppConfig


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"

    def ready(self) -> None:
        # Scores are computed when an exercise ends: the live runtime (below scoring)
        # announces the end with a signal rather than calling scoring.
        from exercises.signals import exercise_ended
        from scoring.jobs import scores_on_exercise_ended

        exercise_ended.connect(scores_on_exercise_ended, dispatch_uid="scoring.scores_on_end")

        # The editor's validation panel (scenarios, below scoring) flags a scenario whose
        # best play cannot reach the rubric's thresholds: scoring registers the check.
        from scenarios.panel import register_warning_check
        from scoring.perfect_play import perfect_team_warnings

        register_warning_check("scoring.perfect_team", perfect_team_warnings)
