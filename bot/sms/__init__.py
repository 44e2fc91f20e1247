"""Receiving a text and answering it: reading it, compliance (STOP, HELP), the spool,
sending, alerts, quiet hours, carriers' refusals."""
