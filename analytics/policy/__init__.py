"""Policy: what therapists and clients agreed, and the rules figures are held against. Boundary
settings and working hours (the model, the rule for which agreement is in force, their
history and files), previews of boundary edits, billing rules and fee files. A change to
what can be agreed goes here.
"""
