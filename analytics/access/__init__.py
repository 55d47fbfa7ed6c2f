"""Access: who sees what. The viewer's scope (local mode, therapist, supervisor, admin), roles
from the roles file, the filter set every measure takes, and small-number suppression in
comparisons. A change to what a viewer may see or do goes here.
"""
