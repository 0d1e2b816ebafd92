"""Every Lambda of template.yaml starts with the environment the template gives it.

A function reads its settings and builds its services at a cold start, and a service whose queue
is not configured stops it (nothing is quietly switched off). So a variable the template forgets
is an outage that no local test sees: the local runner and the Rust tests have their own wiring.
Here each function's binary (built by step 4 of tests/run.sh, next to csms-local) is started with
`--check-wiring` and exactly the variables the template sets for it (Globals plus its own, with
`!Ref`/`!Sub`/`!If` resolved as a default deployment would); it builds what its `main` builds and
exits, 0 or with the error that names the missing variable.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(ROOT / "template.yaml"))
PSEUDO = {
    "AWS::Region": "eu-north-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::Partition": "aws",
    "AWS::StackName": "csms",
}


def _parameter(name: str) -> str:
    p = TEMPLATE["Parameters"][name]
    if "Default" in p:
        return str(p["Default"])
    # Required at deploy time (the admin key): a value the parameter accepts.
    return "k" * max(int(p.get("MinLength", 1)), 1)


def _ref(name: str) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in TEMPLATE.get("Parameters", {}):
        return _parameter(name)
    resource = TEMPLATE["Resources"][name]
    if resource["Type"] == "AWS::SQS::Queue":
        fifo = str(resource.get("Properties", {}).get("FifoQueue", "false")).lower() == "true"
        return f"https://sqs.eu-north-1.amazonaws.com/123456789012/{name}{'.fifo' if fifo else ''}"
    return f"csms-{name.lower()}"


def _condition(c) -> bool:
    if isinstance(c, str):
        return _condition(TEMPLATE["Conditions"][c])
    (fn, args), = c.items()
    if fn == "Condition":
        return _condition(args)
    if fn == "Fn::Not":
        return not _condition(args[0])
    if fn == "Fn::And":
        return all(_condition(a) for a in args)
    if fn == "Fn::Or":
        return any(_condition(a) for a in args)
    if fn == "Fn::Equals":
        return _value(args[0]) == _value(args[1])
    raise AssertionError(f"condition function {fn} is not understood by this test")


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    (fn, args), = v.items()
    if fn == "Ref":
        return _ref(args)
    if fn == "Fn::If":
        name, yes, no = args
        return _value(yes if _condition(name) else no)
    if fn == "Fn::Sub":
        text = args if isinstance(args, str) else args[0]
        return re.sub(r"\$\{([^}]+)\}",
                      lambda m: _ref(m.group(1)) if "." not in m.group(1) else "attr", text)
    if fn == "Fn::GetAtt":
        return f"arn:aws:csms:::{args[0] if isinstance(args, list) else args}"
    raise AssertionError(f"function {fn} is not understood by this test")


def _functions() -> list[tuple[str, str, dict[str, str]]]:
    """(logical id, binary, environment) of every Rust Lambda of the template."""
    globals_env = TEMPLATE.get("Globals", {}).get("Function", {}).get("Environment", {})
    out = []
    for name, r in TEMPLATE["Resources"].items():
        if r["Type"] != "AWS::Serverless::Function":
            continue
        binary = r.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            continue
        env = {k: _value(v) for k, v in (globals_env.get("Variables") or {}).items()}
        own = (r["Properties"].get("Environment") or {}).get("Variables") or {}
        env.update({k: _value(v) for k, v in own.items()})
        out.append((name, binary, env))
    return out


FUNCTIONS = _functions()


def _bin_dir() -> Path:
    path = os.environ.get("CSMS_LOCAL_BIN")
    if not path:
        pytest.fail("CSMS_LOCAL_BIN is not set (./tests/run.sh e2e sets it)", pytrace=False)
    return Path(path).resolve().parent


def _start(binary: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = _bin_dir() / binary
    assert exe.is_file(), f"{exe} is missing: cargo build --workspace --all-targets builds it"
    base = {
        "PATH": os.environ.get("PATH", ""),
        # Credentials and region as a Lambda has them; nothing is called.
        "AWS_REGION": "eu-north-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run([str(exe), "--check-wiring"], env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_the_template_has_every_rust_function():
    binaries = {b for _, b, _ in FUNCTIONS}
    on_disk = {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()} - {"csms-local"}
    assert binaries == on_disk, "template.yaml and functions/ disagree"


@pytest.mark.parametrize("name,binary,env", FUNCTIONS, ids=[f[1] for f in FUNCTIONS])
def test_each_function_starts_with_the_environment_the_template_gives_it(name, binary, env):
    done = _start(binary, env)
    assert done.returncode == 0, (
        f"{name} ({binary}) does not start with its template environment "
        f"{sorted(env)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def test_a_function_without_a_queue_its_services_need_does_not_start_and_names_it():
    # The check above could pass by accident if the binaries ignored their settings.
    name, binary, env = next(f for f in FUNCTIONS if f[1] == "command-dispatcher")
    env = {k: v for k, v in env.items() if k != "CSMS_LOAD_QUEUE"}
    done = _start(binary, env)
    assert done.returncode != 0, f"{name} started without CSMS_LOAD_QUEUE"
    assert "CSMS_LOAD_QUEUE" in done.stdout + done.stderr


# --------------------------------------------------------------------------- Swish (issue 18)
# The client certificate and key live in Secrets Manager (a Lambda's environment holds 4 KB in all, less than a
# 4096-bit key and its certificate): the stack gives the HTTP API function the secret's ARN and it reads the secret
# once at a cold start. Here against moto's Secrets Manager.

SWISH_VARS = ("CSMS_SWISH_PAYEE_ALIAS", "CSMS_SWISH_SECRET", "CSMS_SWISH_API_URL")


def _pem_pair() -> tuple[str, str]:
    """A self-signed certificate and its key, as Swish's client certificate would be."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "1231181189")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


@pytest.fixture(scope="module")
def secrets_manager():
    """moto's Secrets Manager on a free port: (endpoint, boto3 client)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from csms_e2e import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("secretsmanager", region_name="eu-north-1", endpoint_url=endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        yield endpoint, client
    finally:
        server.stop()


def _http_api_with_swish(endpoint: str, secret_arn: str) -> subprocess.CompletedProcess:
    name, binary, env = next(f for f in FUNCTIONS if f[1] == "http-api")
    env = {**env, "CSMS_SWISH_PAYEE_ALIAS": "1231181189", "CSMS_SWISH_SECRET": secret_arn,
           "CSMS_PUBLIC_URL": "https://csms.example.com", "AWS_ENDPOINT_URL": endpoint}
    return _start(binary, env)


def test_only_the_http_api_gets_swish_and_may_read_only_its_secret():
    http_api = TEMPLATE["Resources"]["HttpApiFunction"]["Properties"]
    own = http_api["Environment"]["Variables"]
    assert {v: own[v] for v in SWISH_VARS} == {
        "CSMS_SWISH_PAYEE_ALIAS": {"Ref": "SwishPayeeAlias"}, "CSMS_SWISH_SECRET": {"Ref": "SwishSecretArn"},
        "CSMS_SWISH_API_URL": {"Ref": "SwishApiUrl"}}
    # The certificate and key never sit in the environment.
    assert not any(v in own for v in ("CSMS_SWISH_CERT", "CSMS_SWISH_KEY", "CSMS_SWISH_CA"))
    for name, binary, env in FUNCTIONS:
        if binary != "http-api":
            assert not any(v in env for v in SWISH_VARS), f"{name} needs no Swish settings"
    statements = http_api["Policies"][0]["Statement"]
    guarded = [s["Fn::If"] for s in statements if isinstance(s, dict) and "Fn::If" in s
               and s["Fn::If"][0] == "HasSwishSecret"]
    assert len(guarded) == 1, statements
    _, allow, otherwise = guarded[0]
    assert allow["Action"] == "secretsmanager:GetSecretValue" and allow["Resource"] == {"Ref": "SwishSecretArn"}
    assert otherwise == {"Ref": "AWS::NoValue"}
    # No access without a secret; a merchant number without its secret or PublicUrl is refused at deploy time.
    assert _condition("HasSwishSecret") is False
    rule = TEMPLATE["Rules"]["SwishNeedsItsSecret"]
    asserted = [a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for a in rule["Assertions"]]
    assert asserted == ["SwishSecretArn", "PublicUrl"]
    assert re.fullmatch(TEMPLATE["Parameters"]["SwishPayeeAlias"]["AllowedPattern"], "1231181189")
    assert not re.fullmatch(TEMPLATE["Parameters"]["SwishPayeeAlias"]["AllowedPattern"], "4671234768")
    assert re.fullmatch(TEMPLATE["Parameters"]["SwishSecretArn"]["AllowedPattern"],
                        "arn:aws:secretsmanager:eu-north-1:123456789012:secret:csms/swish-AbCdEf")


def test_the_http_api_reads_the_swish_certificate_from_secrets_manager(secrets_manager):
    import json

    endpoint, client = secrets_manager
    cert, key = _pem_pair()
    arn = client.create_secret(Name="csms/swish", SecretString=json.dumps({"cert": cert, "key": key}))["ARN"]
    done = _http_api_with_swish(endpoint, arn)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # A secret that is not what it must be stops the start and says which secret and field.
    bad = client.create_secret(Name="csms/swish-bad", SecretString=json.dumps({"cert": "/etc/swish.pem",
                                                                              "key": key}))["ARN"]
    done = _http_api_with_swish(endpoint, bad)
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "CSMS_SWISH_SECRET" in out and "cert" in out, out[-2000:]
    # A secret that does not exist: the same.
    done = _http_api_with_swish(endpoint, "arn:aws:secretsmanager:eu-north-1:123456789012:secret:csms/none-AbCdEf")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "CSMS_SWISH_SECRET" in out, out[-2000:]
