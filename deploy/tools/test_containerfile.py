"""Unit tests of containerfile.py's parser (run by ci/checks/69-deploy.sh), plus a plan of the
real example Containerfile so that an instruction the root test cannot honour fails here first."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import containerfile as cf  # noqa: E402

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))

SAMPLE = r"""# syntax comment
ARG REL=bookworm
FROM docker.io/library/debian:${REL}-slim
ARG TARBALL=dist/a.tar.gz
ENV A=1 \
    B="two words" \
    C=$A-x
# a comment inside nothing
RUN apt-get update \
# dropped comment in a continuation
 && echo "$TARBALL"
ADD ${TARBALL} /opt/
COPY one two /usr/local/bin/
USER 1000:1000
WORKDIR /home/u
ENV PORT=8080
EXPOSE ${PORT}/tcp
HEALTHCHECK --interval=30s CMD ["/bin/health"]
ENTRYPOINT ["/usr/bin/tini", "--", "/start"]
CMD []
"""


class ParseTest(unittest.TestCase):
    def test_sample(self):
        p = cf.plan(SAMPLE, {"TARBALL": "dist/b.tar.gz"})
        self.assertEqual(p.suite, "bookworm")
        ops = [s["op"] for s in p.steps]
        self.assertEqual(ops, ["ENV", "RUN", "ADD", "COPY", "USER", "WORKDIR", "ENV", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"])
        self.assertEqual(p.steps[0]["env"], {"A": "1", "B": "two words", "C": "1-x"})
        run = p.steps[1]
        self.assertEqual(run["argv"][:2], ["/bin/sh", "-c"])
        self.assertNotIn("dropped", run["argv"][2])
        self.assertEqual(run["args"], {"TARBALL": "dist/b.tar.gz"}, "ARGs after FROM reach RUN; REL does not")
        self.assertEqual(p.steps[2], {"op": "ADD", "src": ["dist/b.tar.gz"], "dest": "/opt/"})
        self.assertEqual(p.steps[3]["src"], ["one", "two"])
        self.assertEqual(p.prefix, 2, "ENV and RUN read nothing from the context")
        cfg = cf.image_config(p.steps)
        self.assertEqual(cfg["user"], "1000:1000")
        self.assertEqual(cfg["workdir"], "/home/u")
        self.assertEqual(cfg["ports"], ["8080/tcp"])
        self.assertEqual(cfg["env"]["PORT"], "8080")
        self.assertEqual(cfg["healthcheck"], ["/bin/health"])
        self.assertEqual(cfg["entrypoint"], ["/usr/bin/tini", "--", "/start"])
        self.assertEqual(cfg["cmd"], [])

    def test_prefix_key_follows_the_text(self):
        a = cf.plan(SAMPLE, {}).prefix_key
        self.assertEqual(a, cf.plan(SAMPLE, {}).prefix_key)
        self.assertNotEqual(a, cf.plan(SAMPLE.replace("apt-get update", "apt-get update -q"), {}).prefix_key)
        # A change after the first COPY/ADD keeps the cached prefix.
        self.assertEqual(a, cf.plan(SAMPLE.replace("USER 1000:1000", "USER 1001:1001"), {}).prefix_key)

    def test_substitute(self):
        env = {"A": "x", "E": ""}
        self.assertEqual(cf.substitute("$A ${A} ${B:-d} ${E:-e} $NONE.", env), "x x d e .")

    def test_rejects(self):
        for text in (
            "RUN true\n",
            "FROM ubuntu:22.04\n",
            "FROM debian:bookworm\nFROM debian:bookworm\n",
            "FROM debian:bookworm\nVOLUME /x\n",
            "FROM debian:bookworm\nCOPY --chown=1:1 a /b\n",
            "FROM debian:bookworm\nRUN a \\\n",
            "FROM debian:bookworm\nCMD [1]\n",
        ):
            with self.subTest(text=text), self.assertRaises(cf.ContainerfileError):
                cf.plan(text, {})

    def test_old_env_form(self):
        self.assertEqual(cf.parse_env("K some value"), [("K", "some value")])

    def test_example_containerfile_plans(self):
        with open(os.path.join(REPO, "deploy/containers/example/Containerfile"), encoding="utf-8") as f:
            p = cf.plan(f.read(), {})
        cfg = cf.image_config(p.steps)
        self.assertEqual(p.suite, "bookworm")
        self.assertEqual(cfg["user"], "1000:1000")
        self.assertEqual(cfg["entrypoint"][-1], "/usr/local/bin/selkies-desktop")
        self.assertEqual(cfg["ports"], ["8080/tcp"])


if __name__ == "__main__":
    unittest.main()
