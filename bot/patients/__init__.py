"""Patients: enrollment, status, invitations, the bulk import, retention and deletion."""
