"""Operations alarms of template.yaml (issue 19, point 3): every Lambda function has an alarm on its errors and one on
its throttles, every dead-letter queue one on a waiting message, both APIs one on their 5xx / integration errors, and
every alarm tells the operations topic when it goes off and when it clears. A function or queue added without its
alarms fails here."""

from __future__ import annotations

from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = cfn_yaml.load(str(ROOT / "template.yaml"))["Resources"]
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _dimension(props: dict, name: str):
    for d in props.get("Dimensions", []):
        if d["Name"] == name:
            return d["Value"]
    return None


def _ref_of(value) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def _watching(namespace: str, metric: str, dimension: str) -> set[str]:
    return {
        _ref_of(_dimension(p, dimension))
        for p in ALARMS.values()
        if p["Namespace"] == namespace and p["MetricName"] == metric
    }


def test_every_function_has_an_errors_and_a_throttles_alarm():
    functions = {n for n, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
    assert len(functions) >= 10, functions
    assert functions <= _watching("AWS/Lambda", "Errors", "FunctionName"), functions
    assert functions <= _watching("AWS/Lambda", "Throttles", "FunctionName"), functions


def test_every_dead_letter_queue_has_an_alarm_on_a_waiting_message():
    dlqs = {n for n, r in RESOURCES.items() if r["Type"] == "AWS::SQS::Queue" and "DeadLetter" in n}
    assert len(dlqs) >= 5, dlqs
    assert dlqs <= _watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"), dlqs
    # Every queue with a redrive policy sends to one of them.
    for name, r in RESOURCES.items():
        redrive = r.get("Properties", {}).get("RedrivePolicy")
        if r["Type"] == "AWS::SQS::Queue" and redrive:
            assert _ref_of(redrive["deadLetterTargetArn"]) in dlqs, name


def test_both_apis_have_an_error_alarm():
    assert "HttpApi" in _watching("AWS/ApiGateway", "5xx", "ApiId")
    assert "WebSocketApi" in _watching("AWS/ApiGateway", "IntegrationError", "ApiId")


def test_every_alarm_notifies_the_operations_topic_both_ways():
    assert RESOURCES["OperationsAlarmTopic"]["Type"] == "AWS::SNS::Topic"
    for name, p in ALARMS.items():
        for actions in ("AlarmActions", "OKActions"):
            assert [_ref_of(a) for a in p.get(actions, [])] == ["OperationsAlarmTopic"], (name, actions)
        assert p["AlarmDescription"], name
