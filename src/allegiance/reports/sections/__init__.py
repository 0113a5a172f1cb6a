"""The product's report sections, one module per capability.

Each module registers its section when imported (``allegiance.reports.load_sections``
imports them all). A section's ``build`` receives :class:`allegiance.workflow.ProjectData`.
"""
