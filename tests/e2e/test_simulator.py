"""`hub simulate` drives every channel in its own protocol, and only ever this machine."""

from tests.support.hubproc import REPO, hub_cli
from tests.support.metrics import samples

CHANNELS = ("hub-api", "pos", "brilink", "bni46", "indomaret", "alfamart", "bank")


async def test_the_simulator_gets_every_channel_through_intake_in_its_own_protocol(
    hub_url: str, hub_env: dict[str, str], bni46_port: int
) -> None:
    key = REPO / "tests" / "channels" / "bank" / "keys" / "bank-private.pem"
    before = await samples(hub_url, "hub_requests_total")
    result = await hub_cli(
        hub_env,
        "simulate",
        "--url", hub_url,
        "--rate", "30",
        "--duration", "4",
        "--bni46-port", str(bni46_port),
        "--bank-key", str(key),
        "--seed", "7",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    rows = {
        cells[0]: cells
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 6
    }
    for channel in CHANNELS:
        assert channel in rows, f"{channel} sent nothing: {result.stdout}"
        assert int(rows[channel][2]) > 0, f"{channel}: nothing succeeded: {rows[channel]}"
    after = await samples(hub_url, "hub_requests_total")

    def accepted(sample: list[tuple[dict[str, str], float]], channel: str) -> float:
        return sum(
            v
            for labels, v in sample
            if labels["channel"] == channel and labels["outcome"] == "accepted"
        )

    for channel in CHANNELS:
        assert accepted(after, channel) > accepted(before, channel), channel


async def test_the_simulator_refuses_anything_but_loopback(hub_env: dict[str, str]) -> None:
    result = await hub_cli(
        hub_env, "simulate", "--url", "http://192.0.2.10:8000", "--duration", "1"
    )
    assert result.returncode == 2
    assert "not loopback" in result.stdout
