"""Policy: what therapists and clients agreed, and the rules figures are held against.

Boundary settings and working weeks: the model and its checks (``agreements``), names to
ids (``lookup``), the one rule for which agreement is in force and the stored rows read
back (``in_force``), the one after-hours rule (``working_hours``), their history
(``history``), storing them (``writes``), readable frames and sentences (``words``), cells
read back from tables and files (``cells``), TOML/CSV files (``files``) and previews of an
edit (``boundary_edits``). Billing rules and fees (``billing_rules``) and their files
(``billing_files``). A change to what can be agreed, or to when it applies, goes here.
"""
