package io.pgloom.auth.hba;

/**
 * An HBA or ident map file that cannot be read or parsed. The message has the form {@code
 * <file>:<line>: <problem>} (or {@code <file>: <problem>} for whole-file problems), so RELOAD can
 * log it as it is and keep the old rules. Immutable.
 */
public final class HbaException extends Exception {
    public HbaException(String message) {
        super(message, null, false, false);
    }

    static HbaException at(String fileName, int line, String problem) {
        return new HbaException(fileName + ":" + line + ": " + problem);
    }
}
