"""Developer tooling, not part of the services' runtime: the native stack (``devstack``), ``make run``
(``runner``) and development tokens (``devtoken``). Runtime modules never import this package."""
