"""Finance's features: reading and voiding issued invoices, importing accounts and tiers.

A component on the kernel (`billing`): `finance.invoices` (list, show, void, period totals)
and `finance.reference` (the all-or-nothing CSV import of ref.accounts and ref.account_tiers).
"""
