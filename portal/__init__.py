"""The patient portal: everything a patient sees and receives.

Views, forms and URLs under /portal/, accepting an invitation, and the exercise
reminder emails. It builds on `prescriptions` (plans, logging, adherence,
handouts) and `clinic` (people and clinics), and nothing below imports it.
"""
