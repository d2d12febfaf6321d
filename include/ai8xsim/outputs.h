// ai8xsim: all-or-nothing outputs. Every file a command writes (--output, --report,
// --memory-map, --dump-layers DIR/layer_NNN.npy, ...) goes through one OutputTransaction:
//   1. every target is checked before anything is written: a name given twice, an empty name,
//      a directory, FIFO, device or socket where a file would go, a missing parent directory;
//   2. every file is written in full to a temporary next to its target (directories the
//      outputs need are created), each registered for removal on a signal;
//   3. the temporaries are renamed over their targets with SIGINT/SIGTERM/SIGHUP held back;
//      when a rename fails, the targets already replaced get their old contents back (kept as
//      hard links) or are removed when they did not exist.
// Nothing is flushed to the disk (no fsync): other processes see the old file or the complete
// new one; a power cut may lose what the kernel had not written yet, as with numpy.save. (The
// flush of a batch's output cost more than its inference: 90 ms for camvid_unet's 37 MB.)
// A failure at any step, or the transaction's destruction before commit(), leaves the file
// system as it was: no temporary, no directory it created, every old output intact.
// Targets are written only when they are regular files or absent: a symbolic link is followed
// and the file it points to is replaced; a device, FIFO or socket is refused, never replaced.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace ai8xsim {

class OutputTransaction {
 public:
  OutputTransaction() = default;
  ~OutputTransaction();  // not committed: removes its temporaries and the directories it made
  OutputTransaction(const OutputTransaction&) = delete;
  OutputTransaction& operator=(const OutputTransaction&) = delete;

  // A file to write. `option` names where the path came from in messages ("--output").
  void add(const std::string& option, const std::string& path, std::string contents);
  // A directory of outputs, created (with its parents) when absent. Files in it for which
  // `own(name)` holds and that this transaction does not write are left over from an earlier
  // run (of another network, say) and are removed at commit, so that the directory holds one
  // run's files only; nothing else in it is touched.
  void add_directory(const std::string& option, const std::string& dir,
                     std::function<bool(const std::string& name)> own = {});
  // A file already written in full to the temporary `tmp` next to `path` (made by
  // create_output_temporary, e.g. for an output written in place as it is produced): committed
  // (renamed) with the others, removed on failure.
  void add_written(const std::string& option, const std::string& path, const std::string& tmp);
  // Writes everything or nothing; an ai8xsim::Error (IO) naming the option, the file and the
  // reason otherwise.
  void commit();

 private:
  struct File {
    std::string option, path, contents;
    bool written = false;  // the temporary was filled before commit (add_written)
    std::string target;  // the file replaced: `path`, or where its symbolic link points
    std::string tmp, backup;
  };
  struct Directory {
    std::string option, path;
    std::function<bool(const std::string&)> own;
  };
  void check();
  void stage();
  void rename_all();
  void rollback();
  std::vector<File> files_;
  std::vector<Directory> dirs_;
  std::vector<std::string> created_dirs_;  // by stage(), parents first
  bool done_ = false;
};

// An empty temporary file next to `path`, open for writing (its name and descriptor), removed
// on a signal like the transaction's own; discard_output_temporary removes it.
struct OutputTemporary {
  std::string name;
  int fd = -1;
};
OutputTemporary create_output_temporary(const std::string& option, const std::string& path);
void discard_output_temporary(const std::string& name);

// The command line's signal handling for outputs: SIGINT, SIGTERM and SIGHUP remove the
// temporaries and directories of every transaction not yet committed, then end the process by
// the same signal (async-signal-safe: unlink, rmdir, signal, raise). SIGXFSZ is ignored, so
// that a write beyond `ulimit -f` fails with EFBIG and ends in an error like a full disk.
void install_output_signal_handlers();

}  // namespace ai8xsim
