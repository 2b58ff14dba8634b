// A signing client of the spawner API (see issue 4).
