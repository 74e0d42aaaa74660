package dev.gatun.server;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server's files: the private socket directory, the private region directory under
 * {@code /dev/shm}, the socket file, the connection-info file, and what dead processes left behind.
 * Everything is created private to this user (0700 directories, 0600 files), because the socket and
 * the regions are the whole of what stands between another local user and the JVM.
 */
final class ServerFiles {
    private static final System.Logger LOG = System.getLogger(ServerFiles.class.getName());
    private static final FileAttribute<Set<PosixFilePermission>> DIR_0700 =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    /**
     * What Gatun makes in {@code /dev/shm}: {@code gatun-PID-*} (a server's regions, unlinked once
     * mapped) and {@code gatun-arrow-PID-*} (an Arrow arena until the client maps it). The PID is the
     * process that made it, so that what a killed process left can be told from what lives.
     */
    static final String SHM_PREFIX = "gatun-";
    private static final Pattern SHM_DIR = Pattern.compile("gatun-(?:arrow-)?([0-9]+)-.+");

    private final Path socketDir;
    private final boolean ownSocketDir;
    private final Path shmDir;
    private final Path socketPath;

    private ServerFiles(Path socketDir, boolean ownSocketDir, Path shmDir) {
        this.socketDir = socketDir;
        this.ownSocketDir = ownSocketDir;
        this.shmDir = shmDir;
        this.socketPath = socketDir.resolve("gatun.sock");
    }

    /**
     * Makes (or checks) the socket directory and the region directory, and removes a socket file a
     * dead server left. {@code requestedSocketDir} null: a new private temporary directory.
     */
    static ServerFiles prepare(Path requestedSocketDir) throws IOException {
        Path socketDir;
        boolean own;
        if (requestedSocketDir == null) {
            socketDir = Files.createTempDirectory("gatun-", DIR_0700);
            own = true;
        } else {
            socketDir = requestedSocketDir.toAbsolutePath();
            own = Files.notExists(socketDir);
            if (own) {
                Files.createDirectories(socketDir.getParent());
                Files.createDirectory(socketDir, DIR_0700);
            } else {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(socketDir);
                if (!perms.equals(PosixFilePermissions.fromString("rwx------"))) {
                    throw new IOException("socket directory " + socketDir + " must have mode 0700 (it has "
                            + PosixFilePermissions.toString(perms) + ")");
                }
            }
        }
        ServerFiles files = new ServerFiles(socketDir, own, privateShmDir(socketDir));
        try {
            files.removeStaleSocket();
        } catch (IOException | RuntimeException e) {
            files.delete(null);
            throw e;
        }
        return files;
    }

    Path socketPath() {
        return socketPath;
    }

    /** Where channel regions are created. */
    Path shmDir() {
        return shmDir;
    }

    /** Makes the bound socket file private to this user. */
    void restrictSocket() throws IOException {
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
    }

    /** Deletes the socket file if this server bound it ({@code boundSocket}), and the directories it made. */
    void delete(Path boundSocket) {
        deleteQuietly(boundSocket);
        if (!shmDir.equals(socketDir)) {
            deleteTree(shmDir);
        }
        if (ownSocketDir) {
            deleteTree(socketDir);
        }
    }

    /** A 0700 directory under /dev/shm for the regions; the socket directory where there is none. */
    private static Path privateShmDir(Path socketDir) throws IOException {
        Path devShm = Path.of("/dev/shm");
        if (Files.isDirectory(devShm) && Files.isWritable(devShm)) {
            try {
                sweepDeadDirs(devShm);
                return Files.createTempDirectory(devShm, SHM_PREFIX + ProcessHandle.current().pid() + "-", DIR_0700);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.INFO, "cannot use /dev/shm, regions go to " + socketDir + ": " + e);
            }
        }
        return socketDir;
    }

    /**
     * Removes the directories of dead processes from {@code shm} (a server killed with SIGKILL
     * cannot remove its own): those whose PID runs no process, or a process that started after the
     * directory last changed (the PID was reused). Only this user's directories; a directory of a
     * live process is never touched.
     */
    static int sweepDeadDirs(Path shm) {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(shm, SHM_PREFIX + "*")) {
            Object me = Files.getAttribute(Path.of("/proc/self"), "unix:uid"); // this process's user
            for (Path dir : entries) {
                Matcher m = SHM_DIR.matcher(dir.getFileName().toString());
                if (!m.matches() || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                        || !me.equals(Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS))) {
                    continue;
                }
                if (isDead(Long.parseLong(m.group(1)), Files.getLastModifiedTime(dir).toInstant())) {
                    deleteTree(dir);
                    removed += Files.exists(dir) ? 0 : 1;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "sweeping " + shm + ": " + e);
        }
        return removed;
    }

    private static boolean isDead(long pid, Instant lastChanged) {
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        Optional<Instant> started = process.get().info().startInstant();
        // Start times are rounded to clock ticks: a second's margin keeps a live maker's directory.
        return started.isPresent() && started.get().isAfter(lastChanged.plusSeconds(1));
    }

    private void removeStaleSocket() throws IOException {
        if (!Files.exists(socketPath)) {
            return;
        }
        boolean alive;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            alive = probe.connect(UnixDomainSocketAddress.of(socketPath));
        } catch (IOException e) {
            alive = false;
        }
        if (alive) {
            throw new IOException("a server is already listening on " + socketPath);
        }
        Files.delete(socketPath); // nobody answers: a socket file left by a dead server
    }

    /**
     * Writes {@code text} to {@code file} atomically (temporary file in the same directory, then
     * rename), mode 0600: a reader polling for the file never sees half of it.
     */
    static void writeAtomically(Path file, String text) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), ".gatun-info-", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void deleteTree(Path dir) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                deleteQuietly(f);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "listing " + dir, e);
        }
        deleteQuietly(dir);
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "deleting " + p, e);
        }
    }
}
