"""Reading and writing files, shared by the dataset plugins, the splitters, model files and
run folders: `files` (a file or a zip member as one `FileRef`, compression by magic bytes,
zip members, atomic writes), `datalimits` (the bound on decompressed data), `arrowinput`
(what pyarrow is handed: a path or a buffer it owns, never a Python object) and `textfile`
(the delimited-text reader with line-exact errors and column roles).
"""
