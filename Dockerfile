# syntax=docker/dockerfile:1
# kpitree image: gunicorn serves the app; the same image runs the Celery worker and beat
# (see docker-compose.yml). No secret is baked in: everything comes from the environment.

# htmx comes from npm (package.json); only its dist/ folder reaches the final image.
FROM node:22-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=kpitree.settings
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
COPY --from=assets /src/node_modules/htmx.org/dist node_modules/htmx.org/dist

# Translations are compiled with Babel (a pip package), as `make messages` does, so the image
# needs no system gettext. The .po file is optional until the first translation lands.
RUN if [ -f locale/ja/LC_MESSAGES/django.po ]; then \
      pybabel compile --use-fuzzy -d locale -D django -l ja; \
    fi

# collectstatic imports the production settings, which refuse to start without a secret key
# and hosts. These throwaway values exist only for this one command and are not kept in the
# image; the real ones are given at run time.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=collectstatic-at-build-time-only-never-used-to-sign-anything \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/collectstatic.sqlite3

# The code stays owned by root and read-only for the app user (whose home is /app, so
# gunicorn's control socket, which would live in ~/.gunicorn, is switched off below).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home kpitree
USER kpitree

EXPOSE 8000
CMD ["gunicorn", "kpitree.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--no-control-socket"]
