"""Test-only fault injection: a point where a task can be made to stop, so a fault test can kill
the worker while it holds the message.

Production settings define no pause (`TEST_PAUSE_IN_AUDIT` is set only by settings_test, from the
environment variable `TCM_TEST_PAUSE_IN_AUDIT`), so `pause_point` returns at once there."""

import os
import time

from django.conf import settings

PAUSE_SECONDS = 60  # bounded: a test that forgets to kill the worker still ends


def pause_point(point: str) -> None:
    """If test settings name this point (`TEST_PAUSE_AT`) and a flag file (`TEST_PAUSE_IN_AUDIT`),
    write "entered <pid>" to the file and sleep. Once only: when the file already exists (a
    redelivered task) the task runs through."""
    flag = getattr(settings, "TEST_PAUSE_IN_AUDIT", "")
    if not flag or getattr(settings, "TEST_PAUSE_AT", "") != point:
        return
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"entered {os.getpid()}\n".encode())
    os.close(fd)
    time.sleep(PAUSE_SECONDS)
