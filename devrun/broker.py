"""The embedded broker: kombu's filesystem transport, with messages that outlive the worker that took them.

kombu's filesystem transport deletes a message's file as soon as a worker reads it, so a worker killed
mid-task took its task along (issue 16). Here reading moves the file into a folder of the reading process,
``unacked/<pid>-<start time>/``, and acknowledging or rejecting the message removes it: what is in that folder
is what the process took and has not settled. A process that opens the broker (the restarted worker, beat,
the web server's health check) puts the messages of processes that are gone back on the queue, as Redis's
visibility timeout does in production, and the task runs again. The pid alone could name an unrelated process
once reused; with its start time it cannot (devrun.leftovers).

A message that comes back from dead workers ``max_deliveries`` times is moved to ``dead/`` with an error
instead: its task is what kills them (the rule FactoryTask applies on Redis, with the same setting).
Messages consumed without acknowledgement (Celery's control messages, the health check's probe) are settled
as soon as they are read, as before.
"""

import logging
import os
from contextlib import suppress
from pathlib import Path
from threading import Lock

from kombu.transport import filesystem
from kombu.transport.virtual.base import Empty
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from devrun import leftovers

logger = logging.getLogger(__name__)

# Kept in the message's properties: how many of its deliveries ended with their worker dead.
DEATHS = "factory_worker_deaths"
# Suffixes of a message being restored: claimed from a dead process' folder, and its new copy being written.
CLAIMED = ".restoring"
WRITING = ".writing"


def _process_folder_name(pid: int) -> str:
    return f"{pid}-{leftovers.start_time(pid)}"


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        options = self.connection.client.transport_options
        root = Path(self.data_folder_in).parent
        self.unacked_root = root / "unacked"
        self.dead_folder = root / "dead"
        self.max_deliveries = options.get("max_deliveries")
        self.unacked_folder = self.unacked_root / _process_folder_name(os.getpid())
        self._taken: dict[str, Path] = {}  # delivery tag -> its file in unacked_folder
        self._taken_lock = Lock()
        self.restore_orphans()

    # --- Taking and settling ---------------------------------------------------------------------------

    def _get(self, queue):
        wanted = f"{queue}.msg"
        self.unacked_folder.mkdir(parents=True, exist_ok=True)
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            taken = self.unacked_folder / filename
            try:
                # Atomic: of several readers, one gets the file and the others move on to the next.
                os.rename(os.path.join(self.data_folder_in, filename), taken)
            except OSError:
                continue
            payload = loads(bytes_to_str(taken.read_bytes()))
            with self._taken_lock:
                self._taken[payload["properties"]["delivery_tag"]] = taken
            return payload
        raise Empty()

    def _settle(self, delivery_tag) -> None:
        with self._taken_lock:
            taken = self._taken.pop(delivery_tag, None)
        if taken is not None:
            taken.unlink(missing_ok=True)

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._settle(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)  # a requeued message is a new file on the queue
        self._settle(delivery_tag)

    def _restore(self, message):
        # Unacknowledged messages go back on the queue when the channel closes (a warm shutdown).
        super()._restore(message)
        self._settle(message.delivery_tag)

    def basic_get(self, queue, no_ack=False, **kwargs):
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            self._settle(message.delivery_tag)
        return message

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        if no_ack:
            deliver = callback

            def callback(message):
                self._settle(message.delivery_tag)
                return deliver(message)

        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    # --- Messages of processes that are gone ------------------------------------------------------------

    def restore_orphans(self) -> int:
        """Put back on the queue what processes that are gone took and never settled; the number put back."""
        restored = 0
        if not self.unacked_root.is_dir():
            return restored
        for folder in self.unacked_root.iterdir():
            pid, _, started = folder.name.partition("-")
            if not pid.isdigit() or leftovers.is_running(leftovers.Process("", int(pid), started)):
                continue
            for taken in sorted(folder.iterdir()):
                restored += self._restore_orphan(taken)
            # Not empty if another process is restoring it at the same time; gone if it just removed it.
            with suppress(OSError):
                folder.rmdir()
        return restored

    def _restore_orphan(self, taken: Path) -> int:
        """1 if the message went back on the queue; 0 if another process has it or it was dropped.

        The file is first claimed into this process' folder (a rename: of several processes restoring at once,
        one gets it), then written out anew with its count of deaths. Killed on the way, this process leaves it
        claimed, and whoever restores this process' folder finishes the job: at least once, never lost.
        """
        if taken.name.endswith(WRITING):  # half written by a process killed while restoring it
            taken.unlink(missing_ok=True)
            return 0
        name = taken.name.removesuffix(CLAIMED)
        claimed = self.unacked_folder / f"{name}{CLAIMED}"
        self.unacked_folder.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(taken, claimed)
        except FileNotFoundError:
            return 0
        try:
            payload = loads(bytes_to_str(claimed.read_bytes()))
        except ValueError:  # cut short by a crash while it was being written: nothing left to deliver
            claimed.unlink(missing_ok=True)
            return 0
        properties = payload["properties"]
        properties[DEATHS] = properties.get(DEATHS, 0) + 1
        payload["redelivered"] = True
        dropped = bool(self.max_deliveries) and properties[DEATHS] >= self.max_deliveries
        if dropped:
            self.dead_folder.mkdir(parents=True, exist_ok=True)
            destination = self.dead_folder / name
            logger.error(
                "Message %s moved to %s: its worker died in each of its %s deliveries (task_max_deliveries=%s).",
                payload.get("headers", {}).get("id", properties.get("delivery_tag")),
                destination,
                properties[DEATHS],
                self.max_deliveries,
            )
        else:
            destination = Path(self.data_folder_in) / name
        writing = self.unacked_folder / f"{name}{WRITING}"
        writing.write_bytes(str_to_bytes(dumps(payload)))
        os.replace(writing, destination)  # a reader of the queue never sees half a message
        claimed.unlink()
        return 0 if dropped else 1


class Transport(filesystem.Transport):
    Channel = Channel
