from __future__ import annotations

import signal
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena import localmodel


def _price(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"Not a price: {value!r}") from None


class Command(BaseCommand):
    help = (
        "Run a real local OpenAI-compatible model server (llama.cpp + Gemma 3 270M) in the"
        " foreground; Ctrl+C stops it. With --register, point a LanguageModel at it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8081, help="Port to listen on (8081)")
        parser.add_argument("--host", default=localmodel.DEFAULT_HOST, help="Address (127.0.0.1)")
        parser.add_argument(
            "--register",
            action="store_true",
            help="Create or update LanguageModel rows pointing at it (slugs from --slug)",
        )
        parser.add_argument(
            "--slug",
            action="append",
            help=f"Slug to register (default {localmodel.LOCAL_SLUG!r}); repeat it for more"
            " than one row, e.g. two for live battles against this one server",
        )
        parser.add_argument(
            "--display-name", default=localmodel.LOCAL_DISPLAY_NAME, help="Name to register"
        )
        parser.add_argument("--input-price", type=_price, help="USD per 1M input tokens")
        parser.add_argument("--output-price", type=_price, help="USD per 1M output tokens")
        parser.add_argument("--n-ctx", type=int, default=localmodel.DEFAULT_N_CTX)
        parser.add_argument("--threads", type=int, default=localmodel.DEFAULT_N_THREADS)
        parser.add_argument(
            "--quiet", action="store_true", help="Keep the server's log out of the terminal"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # `kill` stops it as cleanly as Ctrl+C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            server = self.start(options)
        except KeyboardInterrupt:
            self.stdout.write("\nInterrupted.")
            return
        try:
            self.stdout.write(
                self.style.SUCCESS(f"Serving {', '.join(server.models())} at {server.base_url}")
            )
            if options["register"]:
                self.register(server.base_url, options)
            self.stdout.write("Ctrl+C stops the server.")
            while server.running:
                time.sleep(0.5)
            raise CommandError(f"The server exited with code {server.process.returncode}.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the server...")
        finally:
            server.stop()

    def start(self, options: dict[str, Any]) -> localmodel.LocalModelServer:
        try:
            localmodel.check_available()
            self.stdout.write("Locating the model weights (assembled once, then checked)...")
            self.stdout.write(f"  {localmodel.gguf_path()}")
            self.stdout.write(f"Starting llama.cpp on {options['host']}:{options['port']}...")
            return localmodel.LocalModelServer.start(
                options["port"],
                host=options["host"],
                n_ctx=options["n_ctx"],
                n_threads=options["threads"],
                foreground=not options["quiet"],
            )
        except localmodel.LocalModelUnavailable as exc:
            raise CommandError(str(exc)) from None

    def register(self, base_url: str, options: dict[str, Any]) -> None:
        slugs = options["slug"] or [localmodel.LOCAL_SLUG]
        for n, slug in enumerate(slugs, start=1):
            name = options["display_name"] + (f" #{n}" if len(slugs) > 1 else "")
            model = localmodel.register(
                base_url,
                slug=slug,
                display_name=name,
                input_price_per_mtok=options["input_price"],
                output_price_per_mtok=options["output_price"],
            )
            self.stdout.write(f"Registered LanguageModel {model.slug!r} -> {base_url}")
