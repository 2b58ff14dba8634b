// The spawner executable. Its service (issue 4) is not built yet: say so instead of pretending.
#if canImport(Glibc)
import Glibc
#endif

print("spawner: the session service is not implemented in this build yet")
exit(64)
