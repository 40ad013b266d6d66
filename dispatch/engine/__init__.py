"""The dispatch engine: planner, forward simulation, background load and policy inputs.

It knows no Django (an import contract in pyproject.toml holds it to that): the live tick
(`dispatch.services`) and the forecast (`dispatch.forecast`) read the database, hand the engine plain
states, and write back what it decides, so both run the same placement code.
"""
