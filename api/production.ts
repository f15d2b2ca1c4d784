/**
 * The server runs in production mode unless NODE_ENV says otherwise. Imported first by
 * main.ts, before any library reads the variable. In any other mode graphql-js checks
 * every `instanceof` of its type predicates that comes out false for a second copy of
 * itself, which is most of them: in a burst of 10 000 subscription events that check
 * was the largest single cost of executing them.
 */
process.env.NODE_ENV ??= 'production';
