"""Daily reminders: the sweep, patients' replies to them (read in ``commands``, carried
out in ``checkins``), changes to a patient's schedule, adherence."""
