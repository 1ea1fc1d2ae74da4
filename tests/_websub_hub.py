"""A real WebSub hub for tests: flask-websub's, on 127.0.0.1, run as ``python _websub_hub.py DATABASE``.

flask-websub runs its work (verifying a subscriber's intent, fetching a published topic, delivering it to each
callback) as Celery tasks. Celery's eager mode runs each task in the request that starts it, so no broker or worker
process is needed: a subscription is verified before the hub answers it, and a publish ping is answered once the new
content has reached every subscriber. The hub prints its port on the first line of its output, then serves until it
is terminated.
"""

from __future__ import annotations

import sys

from celery import Celery
from flask import Flask
from flask_websub.hub import Hub, SQLite3HubStorage
from werkzeug.serving import make_server


def main(database: str) -> None:
    celery = Celery("websub-hub", set_as_current=False)
    celery.conf.update(task_always_eager=True, task_eager_propagates=False)
    app = Flask("websub-hub")
    # Publish pings are what the test sends; flask-websub turns them off unless asked (they are unauthenticated).
    app.config.update(PUBLISH_SUPPORTED=True, REQUEST_TIMEOUT=10, HUB_MIN_LEASE_SECONDS=60)
    hub = Hub(SQLite3HubStorage(database), celery, **app.config)
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
