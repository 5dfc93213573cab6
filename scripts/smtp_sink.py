#!/usr/bin/env python3
"""An SMTP server that keeps every mail it receives as a file: what the tests, the browser
tests and the benchmark deliver to. Built on aiosmtpd (PyPI; scripts/setup.sh test installs it
into .venv).

    smtp_sink.py --port PORT --dir DIR [--tls DIR] [--implicit-tls]
                 [--user NAME --password WORD] [--delay SECONDS]

Each mail is written to DIR/<time>-<n>.eml (whole, atomically). With --tls a self-signed
certificate for localhost / 127.0.0.1 is made in that directory (cert.pem, key.pem); the sink
then requires STARTTLS, or speaks TLS from the first byte with --implicit-tls. With --user and
--password it requires AUTH (PLAIN or LOGIN) with those. --delay holds each mail that long
before accepting it. Prints "ready" once it accepts connections; stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
import ssl
import subprocess
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    def __init__(self, directory, delay):
        self.directory = directory
        self.delay = delay
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        name = f"{time.time_ns()}-{os.getpid()}-{next(self.count)}"
        partial = os.path.join(self.directory, f".{name}.part")
        with open(partial, "wb") as file:
            file.write(envelope.original_content)
        os.rename(partial, os.path.join(self.directory, f"{name}.eml"))
        return "250 OK: kept"


def self_signed(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "extendedKeyUsage=serverAuth"],
            check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    options = {}
    if args.tls:
        context = self_signed(args.tls)
        if args.implicit_tls:
            options["ssl_context"] = context
        else:
            options.update(tls_context=context, require_starttls=True)
    # With implicit TLS every connection is encrypted, which aiosmtpd's AUTH check cannot see.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    if args.user:
        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == args.user.encode()
                  and auth_data.password == (args.password or "").encode())
            return AuthResult(success=ok, handled=False)
        options.update(authenticator=authenticate, auth_required=True,
                       auth_require_tls=bool(args.tls) and not args.implicit_tls)

    controller = Controller(Keep(args.dir, args.delay), hostname="127.0.0.1", port=args.port,
                            ready_timeout=10, **options)
    controller.start()
    print("ready", flush=True)
    stopped = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.append(True))
    while not stopped:
        time.sleep(0.1)
    controller.stop()


if __name__ == "__main__":
    main()
