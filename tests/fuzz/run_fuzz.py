"""Fuzz the HTTP API from its own OpenAPI document with schemathesis.

Starts a fresh csms-local (CSMS_LOCAL_BIN), registers the station the config
points station paths at, and runs every operation with generated input —
valid and invalid — checking that nothing answers 5xx and that every answer
matches the documented schema. Exits with schemathesis's status.

    CSMS_LOCAL_BIN=target/debug/csms-local .venv/bin/python tests/fuzz/run_fuzz.py
    (CSMS_FUZZ_EXAMPLES, default 25 per operation; CSMS_FUZZ_SEED, default 1)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from csms_e2e import ADMIN_KEY, Runner, remove_tree  # noqa: E402
from swish_fake import MERCHANT, SwishFake  # noqa: E402


def main() -> int:
    binary = os.environ.get("CSMS_LOCAL_BIN")
    if not binary:
        print("CSMS_LOCAL_BIN is not set (cargo build -p csms-local)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="csms-fuzz-"))
    # A Stripe account, so its webhook checks signatures (400) instead of saying it is not set up (503); its API is
    # never reached (the card-payment route is a person's, and the fuzz key is not one).
    stripe = {"CSMS_STRIPE_SECRET_KEY": "sk_test_fuzz", "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_fuzz",
              "CSMS_STRIPE_WEBHOOK_SECRET": "whsec_fuzz", "CSMS_STRIPE_API_URL": "http://127.0.0.1:9"}
    # And a Swish agreement with the suite's fake (its callback reads a request back from Swish: 404 for ids the
    # fake never made, 400 for what is not a callback).
    swish = SwishFake().start(work)
    stripe |= {"CSMS_SWISH_PAYEE_ALIAS": MERCHANT, "CSMS_SWISH_CERT": str(swish.client_cert),
               "CSMS_SWISH_KEY": str(swish.client_key), "CSMS_SWISH_CA": str(swish.ca),
               "CSMS_SWISH_API_URL": swish.url}
    # The client-funds Bankgiro, so an invoice's PDF is made (the credit-note paths have an invoice).
    stripe |= {"CSMS_BANKGIRO": "5050-1055"}
    runner = Runner(binary, work / "data", Path(os.environ.get("CSMS_FUZZ_LOG_DIR", work)), name="fuzz",
                    extra_env=stripe)
    try:
        runner.start()
        runner.create_station("FUZZ-1")
        # A tariff for the tariff paths, so updates and deletes get past 404.
        tariff = runner.api_ok("POST", "/tariffs", {"name": "Fuzz", "elements": [
            {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201)
        # A monthly fee for the fee paths (a group's fee: it needs no person).
        fee = runner.api_ok("POST", "/fees", {"name": "Fuzz", "group": "fuzz", "amount": "100",
                                              "amountIncludesVat": True, "vatRate": "0.25",
                                              "start": "2026-01-01"}, status=201)
        # An issued invoice for the credit-note paths (a driver's fee invoices them with no session).
        person = runner.api_ok("POST", "/users", {"email": "fuzz-driver@example.se", "name": "Fuzz Driver",
                                                  "password": "fuzz-driver-123", "role": "driver"}, status=201)
        runner.api_ok("POST", "/fees", {"name": "Fuzz parking", "userId": person["id"], "amount": "100000",
                                        "amountIncludesVat": True, "vatRate": "0.25", "start": "2026-01-01"},
                      status=201)
        invoice = runner.api_ok("POST", "/invoice-runs", {"period": "2026-01"})["created"][0]
        config = work / "schemathesis.toml"
        config.write_text((HERE / "schemathesis.toml").read_text() + (
            "\n[[operations]]\n"
            'include-path-regex = "^/tariffs/\\\\{id\\\\}"\n'
            f'parameters = {{ "id" = "{tariff["id"]}" }}\n'
            "\n[[operations]]\n"
            'include-path-regex = "^/fees/\\\\{id\\\\}"\n'
            f'parameters = {{ "id" = "{fee["id"]}" }}\n'
            "\n[[operations]]\n"
            'include-path-regex = "^/invoices/\\\\{id\\\\}/credit-notes$"\n'
            f'parameters = {{ "id" = "{invoice["id"]}" }}\n'
            "\n[[operations]]\n"
            'include-path-regex = "^/invoices/\\\\{id\\\\}/credit-notes/"\n'
            f'parameters = {{ "id" = "{invoice["id"]}", "number" = "K1" }}\n'))
        api = f"{runner.base_url}/api/v1"
        cmd = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file", str(config),
            "run", f"{api}/openapi.json",
            "--url", api,
            "-H", f"Authorization: Bearer {ADMIN_KEY}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", os.environ.get("CSMS_FUZZ_EXAMPLES", "25"),
            "--seed", os.environ.get("CSMS_FUZZ_SEED", "1"),
            "--request-timeout", "30",
            "--no-color",
        ]
        code = subprocess.call(cmd)
        stopped = runner.stop(check=False)
        if code == 0 and stopped not in (0, None):
            print(f"csms-local exited with {stopped} after the fuzz run; log: {runner.log_path}", file=sys.stderr)
            return 1
        if code != 0:
            print(f"--- csms-local log tail ({runner.log_path}) ---\n{runner.log_tail()}", file=sys.stderr)
        return code
    finally:
        runner.discard()
        swish.stop()
        remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
