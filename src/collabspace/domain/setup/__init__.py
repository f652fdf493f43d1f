"""What a space is set up with: the task spec (:mod:`.spec`, ``collab.toml``), the presets (:mod:`.presets`),
the generated READMEs (:mod:`.readmes`) and the agents' registrations (:mod:`.agents`)."""
