"""Pure decisions, one module per kind of resource: what a change means
(same, update in place, or replace) and why, in words. Nothing here does
I/O, so ``pulumi preview`` and the CLI's ``explain`` say the same thing.

- ``environment``: an environment's definition -> reuse, update or a new image.
- ``run``: a ``Run`` resource's inputs -> run again or not.
- ``deployment``: a ``Deployment``'s inputs -> replace (a new instance) or update.
- ``endpoint``: an ``Endpoint``'s inputs -> replace, or reload the proxy.
- ``unknown``: what a value not known yet in a preview looks like.
"""
