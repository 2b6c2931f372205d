import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the command-line control plane runs: ROTOR_CONTROLPLANE_DIR, or $TMPDIR/rotor-controlplane. */
export const defaultDir = () => process.env.ROTOR_CONTROLPLANE_DIR ?? join(tmpdir(), "rotor-controlplane");
