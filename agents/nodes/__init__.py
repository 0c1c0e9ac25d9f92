"""The agents of the co-scientist graph, one module each; nodes are ``(state, runtime)``
functions whose collaborators are bound by ``agents.graph.build_graph``."""
