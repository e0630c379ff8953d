"""l0's state machines: declarations, loader, engine, models and diagrams, in one place.

- `declarations/*.toml` — the machines as data (runtime, pipeline, breaker): states,
  triggers, sources, destinations, conditions and handler names. Nothing else defines an edge.
- `spec` — reads and checks a declaration (`load_spec`).
- `engine` — builds the shared `transitions` machine for it, once per process, with a lean
  trigger path (`build_machine`).
- `models` — `MachineModel`, what a machine acts on (the run core, the pipeline run and the
  breaker's circuit subclass it).
- `view` — the reference's standalone `StateMachine` / `create_state_machine`.
- `diagram` — mermaid drawings, committed to `diagrams/` (`python -m l0 diagram`).

This module imports nothing, so importing one part loads only what that part needs.
"""
