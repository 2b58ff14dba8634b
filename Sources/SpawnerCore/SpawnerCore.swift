// The spawner service (see issue 4).
