"""The recruiters' dashboard: server-rendered pages with htmx fragments, over the same
services (automations.services, delivery.channel_services, webhooks.services, ...) and
fetchers (the apps' selectors) as the admin and the API. Views here are thin: they fetch
through a selector, call one service, and render; no rule lives in a view.

One module per area, each exporting `urls` (gathered by urls.py):
  shell.py        sign-in, sign-out, profile (time zone), org switcher, home
  api_tokens.py   the user's personal API tokens (list, make: shown once, revoke)
  access.py       the `dashboard_page` decorator every page uses: signed in, in an org,
                  times in the user's zone, refusals as pages
"""
