{
  "variables": {
    # DDBS_SANITIZE=1 npm run build  ->  AddressSanitizer + UBSan build (see scripts/test-sanitize.js)
    "ddbs_sanitize%": "<!(node -p \"process.env.DDBS_SANITIZE === '1' ? 1 : 0\")"
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
        "-fvisibility=hidden",
        "<!@(pkg-config --cflags libcurl libzstd)"
      ],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "libraries": [
        "<!@(pkg-config --libs libcurl libcrypto libzstd)"
      ],
      "conditions": [
        ["ddbs_sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
