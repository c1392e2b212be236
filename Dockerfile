# A small image around the statically linked migrade binary, for CI systems other
# than GitHub (GitLab CI, Buildkite, Jenkins...). Nothing but the binary: no shell,
# no libc (musl is linked in).
#
# The binary comes from the release build, not from a build inside the image:
#   scripts/dist.sh --binary-only          # dist/docker/<amd64|arm64>/migrade
#   docker build -t migrade .              # TARGETARCH is set by BuildKit/buildx/buildah
#   docker run --rm -v "$PWD:/work" migrade lint migrations/
# The release workflow builds it for linux/amd64 and linux/arm64 from the release's own
# binaries and pushes ghcr.io/<owner>/migrade:<tag>. tests/dist.rs builds and runs it
# with buildah.
FROM scratch
ARG TARGETARCH
# Where dist/ is, relative to the build context.
ARG DIST=dist
COPY ${DIST}/docker/${TARGETARCH}/migrade /usr/local/bin/migrade
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/migrade"]
CMD ["lint", "."]
