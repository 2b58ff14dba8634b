import RunnerProtocol
import SystemSupport

/// xterm.js for the browser, from Debian's `node-xterm` package (`/usr/share/nodejs/xterm`):
/// its CommonJS modules wrapped into one script with a small module loader, which sets the
/// globals `Terminal` and `xtermFit` (the fit addon). Debian's `libjs-xterm` browser file is a
/// stub that `require`s those modules, so it cannot be used as it is. Nothing is fetched from
/// anywhere else.
enum XtermBundle {
    /// The bundle, or nil when the package is not installed under `root`.
    static func build(root: String) -> [UInt8]? {
        let lib = root + "/lib"
        var modules: [(name: String, source: [UInt8])] = []
        var pending = [""]
        while let directory = pending.popLast() {
            guard let names = try? Syscall.listDirectory(lib + (directory.isEmpty ? "" : "/" + directory)) else { continue }
            for name in names.sorted() {
                let relative = directory.isEmpty ? name : directory + "/" + name
                if name.hasSuffix(".test.js") || name.hasSuffix(".map") { continue }
                if name.hasSuffix(".js") {
                    guard let source = try? Syscall.readFile(lib + "/" + relative, limit: 4 << 20) else { return nil }
                    modules.append((relative, source))
                } else if !name.contains(".") {
                    pending.append(relative)
                }
            }
        }
        guard modules.contains(where: { $0.name == "xterm.js" }), modules.contains(where: { $0.name == "addons/fit/fit.js" }) else { return nil }
        var out = Array(prelude.utf8)
        for module in modules {
            out += Array("defs[\"\(module.name)\"] = function (require, module, exports) {\n".utf8)
            out += module.source
            out += Array("\n};\n".utf8)
        }
        out += Array(epilogue.utf8)
        return out
    }

    /// The xterm.css of the package.
    static func stylesheet(root: String) -> [UInt8]? {
        try? Syscall.readFile(root + "/lib/xterm.css", limit: 1 << 20)
    }

    private static let prelude = """
        // xterm.js from Debian's node-xterm package, bundled by the spawner (MIT licence).
        (function () {
        "use strict";
        var defs = {}, cache = {};
        function resolve(from, name) {
          var parts = from.split("/"); parts.pop();
          name.split("/").forEach(function (part) {
            if (part === "..") parts.pop(); else if (part !== "." && part !== "") parts.push(part);
          });
          var path = parts.join("/");
          return /\\.js$/.test(path) ? path : path + ".js";
        }
        function load(name) {
          if (cache[name]) return cache[name].exports;
          if (!defs[name]) throw new Error("xterm bundle: no module " + name);
          var module = { exports: {} };
          cache[name] = module;
          defs[name](function (dependency) { return load(resolve(name, dependency)); }, module, module.exports);
          return module.exports;
        }

        """

    private static let epilogue = """
        window.Terminal = load("xterm.js");
        window.xtermFit = load("addons/fit/fit.js");
        })();

        """

}
