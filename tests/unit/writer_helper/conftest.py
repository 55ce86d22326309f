"""A writer host in a folder, for the helper's tests that need no reader."""


def host_folders(tmp_path, numbers):
    """slots.yaml with slots `numbers` (readers /dev/loop6N, never looked at) under etc/; the arguments that
    point the helper at etc/, wants/, dev/ and run/ (where the slots publish their state), and run/."""
    config = tmp_path / "etc"
    config.mkdir()
    (config / "slots.yaml").write_text("slots:\n" + "".join(
        f"- {{slot: {number}, match: {{DEVNAME: /dev/loop6{number}}}, device: /dev/loop6{number}}}\n"
        for number in numbers))
    run_dir = str(tmp_path / "run")
    return ["--config-dir", str(config), "--systemd-dir", str(tmp_path / "wants"), "--dev-dir", str(tmp_path / "dev"),
            "--run-dir", run_dir], run_dir
