"""Celery refuses to run a task whose soft time limit is not below its hard one: beat's message
is sent and the worker drops it with an error, every time (found by the soak: the herb-use count
never ran)."""

from tcm_platform.celery import app


def test_every_task_stops_softly_before_it_is_killed():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert ours
    for name, task in ours.items():
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        if soft and hard:
            assert soft < hard, f"{name}: soft limit {soft} s is not below the hard limit {hard} s"
