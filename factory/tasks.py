"""The base of every Celery task: a message that keeps killing its worker is dropped after a few deliveries.

With task_acks_late and task_reject_on_worker_lost (settings.py), a message whose worker process died goes
back to the queue, so work lost with a killed worker is done again. The price: a task that itself brings its
worker down (eats memory until the OOM killer steps in, crashes a C extension, calls os._exit) would be
delivered forever, taking a worker process down each time. So every delivery is counted in the broker's
Redis under the task id (a redelivered message keeps its id) just before the task starts, and the count is
removed when the task returns, however it ended: only deliveries whose worker died add up. Beyond
max_deliveries the message is rejected without requeueing and an error is logged. The periodic tasks lose
nothing by it: beat sends a new message on the next beat, and each of them picks up whatever a lost run did
not do. On the embedded development broker, devrun.broker counts the deaths itself.
"""

import logging
from urllib.parse import urlsplit

import redis
from celery import Task
from celery.exceptions import Reject

logger = logging.getLogger(__name__)

_KEY = "factory:task-deliveries:{}"
_clients: dict = {}


def deliveries_key(task_id: str) -> str:
    return _KEY.format(task_id)


def _redis(broker_url: str):
    """The broker's Redis, or None when the broker is something else (the development filesystem broker)."""
    url = broker_url.split(";")[0].strip()
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return None
    if url not in _clients:
        # Short timeouts: counting must never hold a task up longer than the broker itself would.
        _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _clients[url]


class FactoryTask(Task):
    #: Deliveries that may end with a dead worker before the message is dropped; the app's
    #: task_max_deliveries setting when unset here (a @shared_task option overrides it).
    max_deliveries: int | None = None

    def _delivery_limit(self) -> int | None:
        return self.max_deliveries or self.app.conf.get("task_max_deliveries")

    def before_start(self, task_id, args, kwargs):
        limit = self._delivery_limit()
        if not limit or self.request.is_eager:
            return
        client = _redis(self.app.conf.broker_url)
        if client is None:
            return
        visibility = self.app.conf.broker_transport_options.get("visibility_timeout", 3600)
        try:
            with client.pipeline() as pipe:
                # Outlives every redelivery of the message: one visibility timeout per delivery, with room.
                deliveries, _ = (
                    pipe.incr(deliveries_key(task_id))
                    .expire(deliveries_key(task_id), max(86_400, 2 * (limit + 1) * int(visibility)))
                    .execute()
                )
        except Exception:
            # Fail open: a broker hiccup must not stop the factory's work; the next delivery counts again.
            logger.warning("Task %s[%s]: could not count its delivery", self.name, task_id, exc_info=True)
            return
        if deliveries > limit:
            logger.error(
                "Task %s[%s] dropped: its worker died in each of its %s deliveries (task_max_deliveries=%s).",
                self.name,
                task_id,
                deliveries - 1,
                limit,
            )
            # after_return is not called for a rejected task: forget the count here.
            self._forget(client, task_id)
            raise Reject(f"worker died in each of {deliveries - 1} deliveries", requeue=False)

    def on_success(self, retval, task_id, args, kwargs):
        if self.request.is_eager:
            return
        from factory import heartbeats  # the models are loaded by the time a task runs

        if retval == heartbeats.NOT_A_RUN:
            return
        try:
            heartbeats.record(self.name)
        except Exception:
            # A heartbeat that could not be written shows as a late task in /healthz; the work itself is done.
            logger.warning("Task %s[%s]: could not record its run", self.name, task_id, exc_info=True)

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        if not self._delivery_limit() or self.request.is_eager:
            return
        client = _redis(self.app.conf.broker_url)
        if client is not None:
            self._forget(client, task_id)

    def _forget(self, client, task_id):
        try:
            client.delete(deliveries_key(task_id))
        except Exception:
            # The key expires on its own; a leftover count only matters if the same message comes back.
            logger.warning("Task %s[%s]: could not clear its delivery count", self.name, task_id, exc_info=True)
