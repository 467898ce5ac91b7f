int sq(int);
