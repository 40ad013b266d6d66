"""The ground floor's one table: when each periodic task last ran (factory.heartbeats)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from factory.dates import moment_words


class PeriodicRun(models.Model):
    """The last successful run of one periodic task: wall time (beat's periods are wall time) and factory time."""

    task = models.CharField(_("task"), max_length=200, primary_key=True)
    first_run_at = models.DateTimeField(_("first run finished (wall time)"))
    finished_at = models.DateTimeField(_("last run finished (wall time)"))
    factory_time = models.DateTimeField(_("factory time of the last run"))

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")

    def __str__(self) -> str:
        return f"{self.task} @ {moment_words(self.finished_at)}"
