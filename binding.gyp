{
  "variables": {
    # DDBS_SANITIZE=1 npm run build  ->  AddressSanitizer + UBSan build (see scripts/test-sanitize.js)
    "ddbs_sanitize%": "<!(node -p \"process.env.DDBS_SANITIZE === '1' ? 1 : 0\")",
    # DDBS_STATIC_PREFIX=DIR (set by scripts/prebuild.js for the prebuilt binaries): link the static
    # libraries that DIR/libs.json lists (scripts/static-deps.js builds them) instead of the system's
    # shared ones, with their headers from DIR/include, and hide every symbol they define. OpenSSL is
    # not linked: its symbols resolve from the node process, which has them (Node's own OpenSSL).
    "ddbs_static_prefix%": "<!(node -p \"process.env.DDBS_STATIC_PREFIX || ''\")"
  },
  "targets": [
    {
      "target_name": "ddbstore",
      "sources": [
        "src/addon.cc",
        "src/client.c",
        "src/conn.c",
        "src/request.c",
        "src/proxy.c",
        "src/sigv4.c",
        "src/ddb_json.c",
        "src/ddb_update.c",
        "src/ddb_number.c",
        "src/buf.c",
        "src/crc32.c",
        "src/http1.c",
        "src/blob.c",
        "src/base64.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_POSIX_C_SOURCE=200809L"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-fvisibility=hidden"
      ],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "conditions": [
        ["ddbs_static_prefix==''", {
          # From source: the system's libraries (Debian/Ubuntu: libcurl4-openssl-dev libssl-dev libzstd-dev).
          "cflags": ["<!@(pkg-config --cflags libcurl libzstd)"],
          "libraries": ["<!@(pkg-config --libs libcurl libcrypto libzstd)"]
        }, {
          # The prebuilt binaries: static libraries, whatever they are (the list is data, in
          # DIR/libs.json); a library the code does not use adds nothing to the binary.
          "include_dirs": ["<(ddbs_static_prefix)/include"],
          "defines": ["CURL_STATICLIB"],
          "cflags": ["-ffunction-sections", "-fdata-sections", "<!@(node -p \"require(process.env.DDBS_STATIC_PREFIX + '/libs.json').cflags.join(' ')\")"],
          "libraries": ["<!@(node -p \"require(process.env.DDBS_STATIC_PREFIX + '/libs.json').libs.join(' ')\")"],
          "ldflags": ["-static-libgcc", "-Wl,--exclude-libs,ALL", "-Wl,--gc-sections", "-Wl,-z,noexecstack"]
        }],
        ["ddbs_sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
