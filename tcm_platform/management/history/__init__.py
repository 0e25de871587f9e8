"""The history generator behind `manage.py generate_history`: a county (county.py), each
prescription's life planned from one seeded random stream (plans.py), and written in batches with
the trace chain computed by the integrity module's own functions (writer.py)."""
